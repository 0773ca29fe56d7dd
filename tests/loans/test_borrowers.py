import datetime
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from config.demo.identities import make_resident_id, make_uscc
from loans.choices import Role
from loans.models import Company, Person, RelatedParty
from loans.services.borrowers import company_register, person_get_or_create, related_party_add
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db
rng = random.Random(99)


def rid(year=1980):
    return make_resident_id(rng, datetime.date(year, 3, 9))


def company_input(**overrides):
    data = dict(
        legal_name="上海恒达商贸有限公司", uscc=make_uscc(rng), industry="F", province="31",
        founded_on=datetime.date(2016, 4, 1), registered_capital="2000000.00", employees=30,
        annual_revenue="12000000.00",
        related_parties=[
            {"name": "王伟", "id_number": rid(), "role": "legal_representative"},
            {"name": "王伟", "id_number": None, "role": "shareholder", "ownership_pct": "60"},
            {"name": "李娜", "id_number": rid(1985), "role": "shareholder", "ownership_pct": "40"},
        ],
    )
    data["related_parties"][1]["id_number"] = data["related_parties"][0]["id_number"]
    data.update(overrides)
    return data


def test_register_company_with_people_reuses_a_person_across_roles():
    # given / when
    company = company_register(**company_input())
    # then
    assert Company.objects.count() == 1
    assert Person.objects.count() == 2
    roles = sorted(company.related_parties.values_list("role", flat=True))
    assert roles == ["legal_representative", "shareholder", "shareholder"]
    wang = Person.objects.get(name="王伟")
    assert wang.resident_id_masked.count("*") == 12
    assert wang.birth_year == 1980
    assert wang.reveal_resident_id() not in wang.resident_id_encrypted


def test_one_person_may_sit_in_many_companies():
    first = company_register(**company_input())
    boss = first.related_parties.get(role=Role.LEGAL_REPRESENTATIVE).person
    second = company_register(**company_input(related_parties=[
        {"name": "王伟", "id_number": boss.reveal_resident_id(), "role": "actual_controller"},
    ]))
    assert second.related_parties.get().person_id == boss.pk


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"uscc": "91310104MA1FL3LQ1X"}, "uscc"),
        ({"registered_capital": "-1"}, "registered_capital"),
        ({"annual_revenue": "abc"}, "annual_revenue"),
        ({"industry": "Z"}, "industry"),
        ({"province": "99"}, "province"),
        ({"employees": -3}, "employees"),
        ({"legal_name": " "}, "legal_name"),
        ({"founded_on": datetime.date(2999, 1, 1)}, "founded_on"),
    ],
)
def test_bad_company_input_names_the_field_and_saves_nothing(overrides, field):
    with pytest.raises(ValidationError) as exc:
        company_register(**company_input(**overrides))
    assert field in exc.value.message_dict
    assert Company.objects.count() == 0 and Person.objects.count() == 0


def test_bad_related_party_names_its_index_and_saves_nothing():
    data = company_input()
    data["related_parties"][2]["id_number"] = "110105198006151233"  # wrong check digit
    data["related_parties"].append({"name": "赵敏", "id_number": rid(1990), "role": "cfo"})
    with pytest.raises(ValidationError) as exc:
        company_register(**data)
    assert "related_parties[2].id_number" in exc.value.message_dict
    assert "related_parties[3].role" in exc.value.message_dict
    assert Company.objects.count() == 0 and Person.objects.count() == 0 and RelatedParty.objects.count() == 0


def test_shareholdings_over_100_percent_are_refused():
    data = company_input()
    data["related_parties"][2]["ownership_pct"] = "40.01"
    with pytest.raises(ValidationError) as exc:
        company_register(**data)
    assert "100" in exc.value.message_dict["related_parties"][0]
    assert Company.objects.count() == 0


def test_unknown_keys_in_a_related_party_are_a_validation_error():
    data = company_input(related_parties=[{"name": "王伟", "id_number": rid(), "role": "director", "shoe_size": 42}])
    with pytest.raises(ValidationError) as exc:
        company_register(**data)
    assert "related_parties[0]" in exc.value.message_dict


def test_duplicate_uscc_is_refused():
    data = company_input()
    company_register(**data)
    with pytest.raises(ValidationError) as exc:
        company_register(**company_input(uscc=data["uscc"]))
    assert "already registered" in exc.value.message_dict["uscc"][0]


def test_related_party_add_checks_the_running_total():
    # given a company whose shareholders hold 90 %
    company = CompanyFactory()
    related_party_add(company=company, person=PersonFactory(), role=Role.SHAREHOLDER, ownership_pct=Decimal("90"))
    # when another 10.01 % is added
    with pytest.raises(ValidationError) as exc:
        related_party_add(company=company, person=PersonFactory(), role=Role.SHAREHOLDER, ownership_pct=Decimal("10.01"))
    # then it is refused and nothing is saved
    assert "100" in exc.value.message_dict["ownership_pct"][0]
    assert company.related_parties.count() == 1


def test_person_get_or_create_finds_by_keyed_hash():
    value = rid()
    first, created = person_get_or_create(name="张三", resident_id=value)
    again, created_again = person_get_or_create(name="张三", resident_id=value)
    assert created and not created_again and first.pk == again.pk


@pytest.mark.parametrize(
    "kwargs, constraint",
    [
        ({"role": Role.SHAREHOLDER, "ownership_pct": None}, "relparty_shareholder_has_ownership"),
        ({"role": Role.SHAREHOLDER, "ownership_pct": Decimal("100.01")}, "relparty_ownership_range"),
        ({"role": "cfo"}, "relparty_role_valid"),
    ],
)
def test_database_constraints_are_the_backstop(kwargs, constraint):
    company, person = CompanyFactory(), PersonFactory()
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        RelatedParty.objects.create(company=company, person=person, valid_from=datetime.date(2020, 1, 1), **kwargs)
    assert constraint in str(exc.value) or "CHECK" in str(exc.value).upper()


def test_company_constraint_refuses_negative_revenue():
    with pytest.raises(IntegrityError), transaction.atomic():
        CompanyFactory(annual_revenue=Decimal("-1.00"))


def test_postgres_refuses_shareholdings_over_100_even_without_the_service(on_postgres):
    # given a company whose shareholders already hold 70 %
    company = CompanyFactory()
    RelatedParty.objects.create(company=company, person=PersonFactory(), role=Role.SHAREHOLDER,
                                ownership_pct=Decimal("70"), valid_from=datetime.date(2020, 1, 1))
    # when a writer that skips the service adds 40 % more in one bulk statement
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        RelatedParty.objects.bulk_create([
            RelatedParty(company=company, person=PersonFactory(), role=Role.SHAREHOLDER,
                         ownership_pct=Decimal("20"), valid_from=datetime.date(2021, 1, 1)),
            RelatedParty(company=company, person=PersonFactory(), role=Role.SHAREHOLDER,
                         ownership_pct=Decimal("20"), valid_from=datetime.date(2021, 1, 1)),
        ])
    # then the database refuses it, naming the rule
    assert "relparty_ownership_total_max_100" in str(exc.value)
    assert "add up to 110.00 %" in str(exc.value)
    assert company.related_parties.count() == 1
    # and a former shareholder (valid_to set) no longer counts
    RelatedParty.objects.filter(company=company).update(valid_to=datetime.date(2022, 1, 1))
    RelatedParty.objects.create(company=company, person=PersonFactory(), role=Role.SHAREHOLDER,
                                ownership_pct=Decimal("100"), valid_from=datetime.date(2022, 1, 2))
