"""Borrower groups (transitive, through shared key persons) and credit policy versions."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from loans.models import BorrowerGroupMember, CreditPolicy
from loans.services.groups import borrower_group_exposure, borrower_groups_rebuild
from loans.services.policy import credit_policy_active, credit_policy_publish, policy_snapshot
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db


def borrower_group_company_ids(*, company_id):
    return borrower_group_exposure(company_id=company_id)[0]


@pytest.fixture
def chain():
    """A–B share a legal representative, B–C a majority shareholder, D is alone and E is tied
    to A only through a 30 % shareholder and a director (which do not group)."""
    a, b, c, d, e = (CompanyFactory() for _ in range(5))
    p1, p2, p3, p4 = (PersonFactory() for _ in range(4))
    RelatedPartyFactory(company=a, person=p1, role="legal_representative")
    RelatedPartyFactory(company=b, person=p1, role="actual_controller")
    RelatedPartyFactory(company=b, person=p2, role="shareholder", ownership_pct=Decimal("51"))
    RelatedPartyFactory(company=c, person=p2, role="shareholder", ownership_pct=Decimal("50.01"))
    RelatedPartyFactory(company=a, person=p3, role="shareholder", ownership_pct=Decimal("30"))
    RelatedPartyFactory(company=e, person=p3, role="shareholder", ownership_pct=Decimal("30"))
    RelatedPartyFactory(company=a, person=p4, role="director")
    RelatedPartyFactory(company=e, person=p4, role="director")
    RelatedPartyFactory(company=e, person=PersonFactory(), role="legal_representative",
                        valid_from=datetime.date(2015, 1, 1))
    return a, b, c, d, e


def test_groups_are_transitive(chain):
    a, b, c, d, e = chain
    assert borrower_group_company_ids(company_id=c.pk) == tuple(sorted((a.pk, b.pk, c.pk)))
    assert borrower_group_company_ids(company_id=d.pk) == (d.pk,)
    assert borrower_group_company_ids(company_id=e.pk) == (e.pk,)


def test_an_ended_role_no_longer_groups(chain):
    a, b, c, d, e = chain
    a.related_parties.filter(role="legal_representative").update(valid_to=datetime.date(2020, 1, 1))
    assert borrower_group_company_ids(company_id=a.pk) == (a.pk,)


def test_rebuild_stores_every_companys_group(chain):
    a, b, c, d, e = chain
    assert borrower_groups_rebuild() == 1
    keys = dict(BorrowerGroupMember.objects.values_list("company_id", "group_key"))
    assert keys[a.pk] == keys[b.pk] == keys[c.pk] == min(a.pk, b.pk, c.pk)
    assert keys[d.pk] == d.pk and keys[e.pk] == e.pk


def test_a_fresh_install_has_an_active_default_policy():
    policy = credit_policy_active()
    assert (policy.version, policy.min_score, policy.legal_rate_cap) == (1, 600, Decimal("0.240000"))
    assert [b.tier for b in policy_snapshot(policy).tier_bands] == ["A", "B", "C", "D"]


def test_publishing_creates_a_new_version_and_keeps_the_old():
    v1 = credit_policy_active()
    v2 = credit_policy_publish(changes={"legal_rate_cap": Decimal("0.20")}, note="regulator")
    v1.refresh_from_db()
    assert (v2.version, v2.is_active, v2.legal_rate_cap, v2.min_score) == (2, True, Decimal("0.200000"), 600)
    assert (v1.is_active, v1.legal_rate_cap) == (False, Decimal("0.240000"))
    assert credit_policy_active() == v2


def test_only_one_policy_can_be_active():
    credit_policy_active()
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditPolicy.objects.create(version=99, is_active=True, tier_bands=[], term_spreads=[])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"legal_rate_cap": Decimal("1.5")}, "__all__"),
        ({"grey_band_low": 640, "grey_band_high": 620}, "__all__"),
        ({"substandard_dpd": 120}, "__all__"),
        ({"tier_bands": []}, "tier_bands"),
        ({"tier_bands": [{"tier": "A", "min_score": 700, "base_rate": "0.1", "multiplier": "1"}]}, "tier_bands"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_an_invalid_policy_is_not_published(changes, field):
    credit_policy_active()
    with pytest.raises(ValidationError) as exc:
        credit_policy_publish(changes=changes)
    assert field in exc.value.message_dict
    assert CreditPolicy.objects.count() == 1
