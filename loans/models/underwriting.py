"""Underwriting: the credit policy, the decisions it produced, borrower groups and the
hash-chained ledger that makes every decision tamper-evident.

A policy is never edited: a change publishes a new version, and every decision names the
version it was made under, so a decision can always be explained with the numbers of its day.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.history.records import History
from scoring.scale import MAX_SCORE

from ..schedule import MAX_TERM_MONTHS
from .core import Company, LoanApplication, MoneyField, RateField

# The policy a fresh install decides with (also written by migration 0003).  Rates are
# annual fractions; score bands are "score >= min_score gets the tier", best first.
DEFAULT_POLICY = {
    "min_score": 600,
    "grey_band_low": 600,
    "grey_band_high": 619,
    "auto_approval_ceiling": Decimal("1000000.00"),
    "legal_rate_cap": Decimal("0.240000"),
    "max_score_age_days": 7,
    "legal_rep_min_score": 550,
    "group_exposure_cap": Decimal("5000000.00"),
    "revenue_capacity_ratio": Decimal("0.200000"),
    "penalty_daily_rate": Decimal("0.000500"),
    "substandard_dpd": 91,
    "doubtful_dpd": 181,
    "loss_dpd": 361,
    "offer_validity_days": 30,
    "tier_bands": [
        {"tier": "A", "min_score": 750, "base_rate": "0.060000", "multiplier": "1.50"},
        {"tier": "B", "min_score": 700, "base_rate": "0.080000", "multiplier": "1.20"},
        {"tier": "C", "min_score": 650, "base_rate": "0.110000", "multiplier": "1.00"},
        {"tier": "D", "min_score": 600, "base_rate": "0.150000", "multiplier": "0.70"},
    ],
    "term_spreads": [
        {"max_months": 12, "spread": "0.000000"},
        {"max_months": 24, "spread": "0.005000"},
        {"max_months": MAX_TERM_MONTHS, "spread": "0.010000"},
    ],
}


class CreditPolicy(models.Model):
    version = models.PositiveIntegerField(unique=True)
    is_active = models.BooleanField(default=False)
    min_score = models.PositiveSmallIntegerField(default=600, help_text="Composite score needed to be eligible.")
    grey_band_low = models.PositiveSmallIntegerField(default=600)
    grey_band_high = models.PositiveSmallIntegerField(default=619, help_text="Scores in [low, high] go to the credit committee.")
    auto_approval_ceiling = MoneyField(default=Decimal("1000000.00"), help_text="Limits above this go to the credit committee.")
    legal_rate_cap = RateField(default=Decimal("0.24"), help_text="No annual rate above this (APR fraction).")
    max_score_age_days = models.PositiveSmallIntegerField(default=7)
    legal_rep_min_score = models.PositiveSmallIntegerField(default=550)
    group_exposure_cap = MoneyField(default=Decimal("5000000.00"), help_text="Sum of open line limits per borrower group.")
    revenue_capacity_ratio = RateField(default=Decimal("0.20"), help_text="Capacity = annual revenue × this × tier multiplier.")
    penalty_daily_rate = RateField(default=Decimal("0.0005"), help_text="Penalty interest per day on overdue principal.")
    substandard_dpd = models.PositiveSmallIntegerField(default=91)
    doubtful_dpd = models.PositiveSmallIntegerField(default=181)
    loss_dpd = models.PositiveSmallIntegerField(default=361)
    offer_validity_days = models.PositiveSmallIntegerField(default=30, help_text="An approval not accepted in this many days expires.")
    lgd = models.DecimalField(
        "loss given default", max_digits=5, decimal_places=4, default=Decimal("0.45"),
        help_text="Share of the exposure lost when a borrower defaults (expected loss = PD × exposure × LGD).",
    )
    tier_bands = models.JSONField(default=list, help_text='[{"tier": "A", "min_score": 750, "base_rate": "0.06", "multiplier": "1.5"}, …]')
    term_spreads = models.JSONField(default=list, help_text='[{"max_months": 12, "spread": "0"}, …] — first row whose max_months ≥ term.')
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = History()

    class Meta:
        verbose_name_plural = "credit policies"
        ordering = ["-version"]
        # A version is never edited: "changing" the policy publishes a new active version.
        permissions = [("publish_policy", "Can publish a new version of the credit policy")]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="credit_policy_one_active"),
            models.CheckConstraint(condition=Q(min_score__lte=MAX_SCORE), name="credit_policy_min_score_range"),
            models.CheckConstraint(condition=Q(grey_band_high__gte=F("grey_band_low")) & Q(grey_band_high__lte=MAX_SCORE), name="credit_policy_grey_band_ordered"),
            models.CheckConstraint(condition=Q(legal_rate_cap__gt=0) & Q(legal_rate_cap__lt=1), name="credit_policy_rate_cap_range"),
            models.CheckConstraint(condition=Q(auto_approval_ceiling__gt=0), name="credit_policy_ceiling_positive"),
            models.CheckConstraint(condition=Q(group_exposure_cap__gt=0), name="credit_policy_group_cap_positive"),
            models.CheckConstraint(condition=Q(revenue_capacity_ratio__gt=0), name="credit_policy_capacity_positive"),
            models.CheckConstraint(condition=Q(penalty_daily_rate__gte=0) & Q(penalty_daily_rate__lt=Decimal("0.01")), name="credit_policy_penalty_range"),
            models.CheckConstraint(condition=Q(lgd__gte=0) & Q(lgd__lte=1), name="credit_policy_lgd_range"),
            # Over 90 days past due is always non-performing (substandard or worse).
            models.CheckConstraint(
                condition=Q(substandard_dpd__gte=2) & Q(substandard_dpd__lte=91)
                & Q(doubtful_dpd__gt=F("substandard_dpd")) & Q(loss_dpd__gt=F("doubtful_dpd")),
                name="credit_policy_classification_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Credit policy v{self.version}{' (active)' if self.is_active else ''}"


class Decision(models.Model):
    """One automated decision or committee decision on an application, with everything
    needed to explain it later: policy and model versions, inputs, outputs and reasons."""

    class Kind(models.TextChoices):
        AUTOMATED = "automated", _("Automated")
        COMMITTEE = "committee", _("Credit committee")

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        DECLINE = "decline", _("Decline")
        REFER = "refer", _("Refer to committee")

    application = models.ForeignKey(LoanApplication, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    policy = models.ForeignKey(CreditPolicy, on_delete=models.PROTECT, related_name="decisions")
    policy_version = models.PositiveIntegerField()
    model_versions = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    tier = models.CharField(max_length=2, blank=True, default="")
    approved_limit = MoneyField(null=True, blank=True)
    annual_rate = RateField(null=True, blank=True)
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(default=dict)
    rule_hits = models.JSONField(default=list)
    reason_codes = models.JSONField(default=list)
    note = models.CharField(max_length=500, blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ledger_seq = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["application", "-id"], name="decision_application_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["automated", "committee"]), name="decision_kind_valid"),
            models.CheckConstraint(condition=Q(outcome__in=["approve", "decline", "refer"]), name="decision_outcome_valid"),
            models.CheckConstraint(
                condition=~Q(outcome="approve") | (Q(approved_limit__gt=0) & Q(annual_rate__isnull=False)),
                name="decision_approval_has_terms",
            ),
            models.CheckConstraint(condition=Q(kind="automated") | ~Q(outcome="refer"), name="decision_committee_does_not_refer"),
        ]

    def __str__(self) -> str:
        return f"Decision #{self.pk}: {self.outcome} (policy v{self.policy_version})"


class BorrowerGroupMember(models.Model):
    """A company's borrower group, as of the last ``borrower_groups_rebuild``.  The key is
    the smallest company id of the group.  Decisions recompute the applicant's group live."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, primary_key=True, related_name="group_member")
    group_key = models.BigIntegerField()
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["group_key"], name="group_member_key_idx")]

    def __str__(self) -> str:
        return f"company #{self.company_id} in borrower group {self.group_key}"


class LedgerEntry(models.Model):
    """An append-only, hash-chained record.  ``content_hash`` covers the entry's own canonical
    content; ``entry_hash`` = HMAC-SHA256(chain key, prev_hash + content_hash), the key derived
    from ``settings.LEDGER_HMAC_KEY``, which the database does not hold.  Editing, inserting or
    deleting any entry breaks the chain from there on, and a cut tail disagrees with the signed
    anchor; ``manage.py verify_ledger`` reports both (see ``loans/services/ledger.py``).
    ``kind`` and ``payload`` are open: decisions, drawdowns, repayments, limit and status
    changes are entries of their own kinds (``loans.ledger_chain.LedgerKind``)."""

    seq = models.PositiveBigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=40)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=40)
    # Canonical JSON text exactly as hashed (a JSON column may reorder keys on the way back).
    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="ledger_subject_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="ledger_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.subject_type}:{self.subject_id}"
