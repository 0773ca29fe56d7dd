import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import ric, uscc

from config.demo.identities import REGION_CODES, make_resident_id, make_uscc
from loans.parties import identity


def test_generated_identities_pass_stdnum_validation():
    # given a deterministic generator
    rng = random.Random(7)
    # when many identities are generated
    usccs = [make_uscc(rng) for _ in range(2000)]
    rids = [make_resident_id(rng, datetime.date(y, 12, 31), code) for code in REGION_CODES for y in range(1950, 2010, 7)]
    # then stdnum accepts every one of them
    assert all(uscc.is_valid(u) for u in usccs)
    assert all(ric.is_valid(r) for r in rids)


@pytest.mark.parametrize(
    "value, problem",
    [
        ("91310104MA1FL3LQ1X", "check digit"),  # one character off
        ("9131010", "18 characters"),
        ("91310104MA1FL3LQIO", "not allowed"),  # I and O are not in the alphabet
        ("", "18 characters"),
    ],
)
def test_bad_uscc_names_the_field_and_the_problem(value, problem):
    with pytest.raises(ValidationError) as exc:
        identity.normalize_uscc(value)
    assert list(exc.value.message_dict) == ["uscc"]
    assert problem in exc.value.message_dict["uscc"][0]


def test_resident_id_in_an_unknown_province_is_a_validation_error():
    # given a number with a good check digit whose first two digits are no province (99)
    body = "99030219800615123"
    value = body + ric.calc_check_digit(body + "0")
    # when / then
    with pytest.raises(ValidationError) as exc:
        identity.normalize_resident_id(value, field="id_number")
    assert "province" in exc.value.message_dict["id_number"][0]


def test_legacy_15_digit_resident_id_is_refused():
    with pytest.raises(ValidationError) as exc:
        identity.normalize_resident_id("110105800615123")
    assert "18 characters" in exc.value.message_dict["resident_id"][0]


def test_encryption_round_trips_and_is_not_deterministic():
    token_a = identity.encrypt("110105198006151234")
    token_b = identity.encrypt("110105198006151234")
    assert token_a != token_b
    assert "110105198006151234" not in token_a
    assert identity.decrypt(token_a) == identity.decrypt(token_b) == "110105198006151234"


def test_lookup_hash_depends_on_the_key(settings):
    before = identity.lookup_hash("110105198006151234")
    settings.PII_ENCRYPTION_KEY = "another-key"
    assert identity.lookup_hash("110105198006151234") != before


def test_masks():
    assert identity.mask_resident_id("110105198006151234") == "11************1234"
    assert identity.mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["12345", "23812345678", "1381234567a"])
def test_bad_phone(value):
    with pytest.raises(ValidationError) as exc:
        identity.normalize_phone(value)
    assert "phone" in exc.value.message_dict


def _with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


# Numbers carry the region code in force when they were issued: Futian (440304) dates from
# 1990 and Pudong (310115) from 1992, yet people born before then hold such numbers.
REISSUED = [
    _with_check_digit("44030419750312081"),  # born 1975, Shenzhen Futian
    _with_check_digit("31011519800615123"),  # born 1980, Shanghai Pudong
]


@pytest.mark.parametrize("number", REISSUED)
def test_a_region_code_newer_than_the_birth_year_is_accepted(number):
    # python-stdnum's own check refuses these (its county table is by birth year)
    assert not ric.is_valid(number)
    assert identity.normalize_resident_id(number) == number


@pytest.mark.django_db
@pytest.mark.parametrize("number", REISSUED)
def test_such_a_person_can_be_registered(number):
    from loans.services.borrowers import company_register

    company = company_register(
        legal_name="深圳示例科技有限公司", uscc=make_uscc(random.Random(1)), industry="I", province="44",
        founded_on=datetime.date(2014, 3, 1), registered_capital="5000000.00", employees=80, annual_revenue="30000000.00",
        related_parties=[{"name": "王芳", "id_number": number, "role": "legal_representative"}],
    )
    person = company.related_parties.get().person
    assert person.reveal_resident_id() == number and person.birth_year == int(number[6:10])


@pytest.mark.parametrize(
    "number, problem",
    [
        (_with_check_digit("11010519800230123"), "real birth date"),  # 30 February
        (_with_check_digit("11010518991231123"), "before 1900"),
        (_with_check_digit("91010519800615123"), "province"),
        (_with_check_digit("11010519800615123")[:-1] + ("0" if _with_check_digit("11010519800615123")[-1] != "0" else "1"),
         "check digit"),
        ("11010519800615123Y", "not allowed"),
    ],
)
def test_what_the_standard_refuses_is_refused_with_the_reason(number, problem):
    with pytest.raises(ValidationError) as exc:
        identity.normalize_resident_id(number, field="id_number")
    assert problem in exc.value.message_dict["id_number"][0]


def test_a_lowercase_check_character_and_spaces_are_accepted():
    number = next(n for n in (_with_check_digit(f"1101051980061512{i}") for i in range(10)) if n.endswith("X"))
    assert identity.normalize_resident_id(" " + number[:6] + " " + number[6:].lower()) == number
