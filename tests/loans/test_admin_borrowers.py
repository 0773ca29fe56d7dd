import datetime
import random

import pytest
from django.urls import reverse

from config.demo.identities import make_resident_id, make_uscc
from loans.models import Company, Person
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db
rng = random.Random(3)


@pytest.fixture
def officer(client, django_user_model):
    user = django_user_model.objects.create_superuser("officer", "", "pw")
    client.force_login(user)
    return client


def test_company_changelist_shows_companies_without_n_plus_one(officer, django_assert_max_num_queries):
    # given
    for _ in range(30):
        RelatedPartyFactory()
    # when / then: the query count does not grow with rows
    # (8, and 2 for the sidebar's counts of the work waiting for a superuser: actions to approve
    # and committee cases to vote on)
    with django_assert_max_num_queries(10):
        response = officer.get(reverse("admin:parties_company_changelist"))
    assert response.status_code == 200
    assert Company.objects.first().legal_name in response.content.decode()


def test_person_pages_never_show_the_resident_id_in_clear(officer):
    person = PersonFactory()
    clear = person.reveal_resident_id()
    for url in (reverse("admin:parties_person_changelist"), reverse("admin:parties_person_change", args=[person.pk])):
        body = officer.get(url).content.decode()
        assert clear not in body
        assert person.resident_id_masked in body


def test_person_add_form_validates_the_resident_id(officer):
    response = officer.post(reverse("admin:parties_person_add"), {"name": "李四", "resident_id": "110105198006151233", "phone": ""})
    assert response.status_code == 200
    assert "check digit is wrong" in response.content.decode()
    assert Person.objects.count() == 0


def test_person_add_form_stores_encrypted_and_masked(officer):
    rid = make_resident_id(rng, datetime.date(1979, 1, 2))
    response = officer.post(reverse("admin:parties_person_add"), {"name": "李四", "resident_id": rid, "phone": "13912345678"})
    assert response.status_code == 302
    person = Person.objects.get()
    assert person.reveal_resident_id() == rid and rid not in person.resident_id_encrypted
    assert person.phone_masked == "139****5678"




def test_company_form_rejects_a_bad_uscc_and_shareholdings_over_100(officer):
    person_a, person_b = PersonFactory(), PersonFactory()
    data = {
        "legal_name": "测试公司", "uscc": "91310104MA1FL3LQ1X", "industry": "F", "province": "31",
        "founded_on": "2019-01-01", "registered_capital": "100000.00", "employees": "3", "annual_revenue": "100.00",
        "status": "active",
        "related_parties-TOTAL_FORMS": "2", "related_parties-INITIAL_FORMS": "0",
        "related_parties-0-person": person_a.pk, "related_parties-0-role": "shareholder",
        "related_parties-0-ownership_pct": "60", "related_parties-0-valid_from": "2019-01-01",
        "related_parties-1-person": person_b.pk, "related_parties-1-role": "shareholder",
        "related_parties-1-ownership_pct": "50", "related_parties-1-valid_from": "2019-01-01",
    }
    response = officer.post(reverse("admin:parties_company_add"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "check digit is wrong" in body
    assert "more than 100 %" in body
    assert Company.objects.count() == 0
    # a good USCC and 100 % in total is accepted
    data.update({"uscc": make_uscc(rng), "related_parties-1-ownership_pct": "40"})
    assert officer.post(reverse("admin:parties_company_add"), data).status_code == 302
    assert Company.objects.get().related_parties.count() == 2


def test_every_loans_model_admin_changelist_loads(officer):
    CompanyFactory()
    for label in ("parties.partner", "parties.company", "parties.person", "parties.relatedparty",
                  "loans.loanproduct", "loans.collateral", "loans.guarantee"):
        assert officer.get(reverse(f"admin:{label.replace('.', '_')}_changelist")).status_code == 200
