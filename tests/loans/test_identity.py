import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import ric, uscc

from loans import identity
from loans.synthetic import REGION_CODES, make_resident_id, make_uscc


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


def test_resident_id_with_unknown_county_is_a_validation_error_not_a_crash():
    # given a county code stdnum's table lacks inside a known province (stdnum raises KeyError)
    body = "11030219800615123"
    value = body + ric.calc_check_digit(body + "0")
    # when / then
    with pytest.raises(ValidationError) as exc:
        identity.normalize_resident_id(value, field="id_number")
    assert "id_number" in exc.value.message_dict


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
    assert identity.mask_resident_id("110105198006151234") == "110105********1234"
    assert identity.mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["12345", "23812345678", "1381234567a"])
def test_bad_phone(value):
    with pytest.raises(ValidationError) as exc:
        identity.normalize_phone(value)
    assert "phone" in exc.value.message_dict
