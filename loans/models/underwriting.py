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
from scoring.scale import LENDING_MIN_SCORE, MAX_SCORE

from ..schedule import MAX_TERM_MONTHS
from .core import Company, LoanApplication, MoneyField, RateField
from .four_eyes import FourEyesVersion, VersionStatus, four_eyes_constraints

# The policy a fresh install decides with (also written by migration 0003), and the
# fields' defaults below.  Rates are
# annual fractions; score bands are "score >= min_score gets the tier", best first.
DEFAULT_POLICY = {
    "min_score": LENDING_MIN_SCORE,
    "grey_band_low": LENDING_MIN_SCORE,
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
    # The credit committee's rules; a case keeps those of the version it was opened under.
    "committee_quorum": 3,
    "committee_majority": 2,
    "committee_due_working_days": 2,
    "tier_bands": [
        {"tier": "A", "min_score": 750, "base_rate": "0.060000", "multiplier": "1.50"},
        {"tier": "B", "min_score": 700, "base_rate": "0.080000", "multiplier": "1.20"},
        {"tier": "C", "min_score": 650, "base_rate": "0.110000", "multiplier": "1.00"},
        {"tier": "D", "min_score": LENDING_MIN_SCORE, "base_rate": "0.150000", "multiplier": "0.70"},
    ],
    "term_spreads": [
        {"max_months": 12, "spread": "0.000000"},
        {"max_months": 24, "spread": "0.005000"},
        {"max_months": MAX_TERM_MONTHS, "spread": "0.010000"},
    ],
}


# The statuses of a version under four eyes (kept under the policy's name for its readers).
PolicyStatus = VersionStatus


class CreditPolicy(FourEyesVersion):
    """One version of the credit policy.  Maker-checker (``FourEyesVersion``): a person
    proposes a version; another person holding loans.publish_policy approves it, and only
    then is it published and active."""

    version = models.PositiveIntegerField(unique=True)
    min_score = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["min_score"], help_text="Composite score needed to be eligible.")
    grey_band_low = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["grey_band_low"])
    grey_band_high = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["grey_band_high"], help_text="Scores in [low, high] go to the credit committee.")
    auto_approval_ceiling = MoneyField(default=DEFAULT_POLICY["auto_approval_ceiling"], help_text="Limits above this go to the credit committee.")
    legal_rate_cap = RateField(default=DEFAULT_POLICY["legal_rate_cap"], help_text="No annual rate above this (APR fraction).")
    max_score_age_days = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["max_score_age_days"])
    legal_rep_min_score = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["legal_rep_min_score"])
    group_exposure_cap = MoneyField(default=DEFAULT_POLICY["group_exposure_cap"], help_text="Sum of open line limits per borrower group.")
    revenue_capacity_ratio = RateField(default=DEFAULT_POLICY["revenue_capacity_ratio"], help_text="Capacity = annual revenue × this × tier multiplier.")
    penalty_daily_rate = RateField(default=DEFAULT_POLICY["penalty_daily_rate"], help_text="Penalty interest per day on overdue principal.")
    substandard_dpd = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["substandard_dpd"])
    doubtful_dpd = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["doubtful_dpd"])
    loss_dpd = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["loss_dpd"])
    offer_validity_days = models.PositiveSmallIntegerField(default=DEFAULT_POLICY["offer_validity_days"], help_text="An approval not accepted in this many days expires.")
    lgd = models.DecimalField(
        "loss given default", max_digits=5, decimal_places=4, default=Decimal("0.45"),
        help_text="Share of the exposure lost when a borrower defaults (expected loss = PD × exposure × LGD).",
    )
    committee_quorum = models.PositiveSmallIntegerField(_("committee quorum"), default=3, help_text=_("Votes needed before a committee case can close."))
    committee_majority = models.PositiveSmallIntegerField(_("committee majority"), default=2, help_text=_("Approvals (or rejections) that decide a committee case."))
    committee_due_working_days = models.PositiveSmallIntegerField(
        _("committee due time (working days)"), default=2,
        help_text=_("A case is due after this many working days, then escalated; it lapses after as long again."),
    )
    tier_bands = models.JSONField(default=list, help_text='[{"tier": "A", "min_score": 750, "base_rate": "0.06", "multiplier": "1.5"}, …]')
    term_spreads = models.JSONField(default=list, help_text='[{"max_months": 12, "spread": "0"}, …] — first row whose max_months ≥ term.')
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
            models.CheckConstraint(
                condition=Q(committee_majority__gte=1) & Q(committee_majority__lte=F("committee_quorum")) & Q(committee_due_working_days__gte=1),
                name="credit_policy_committee_rules",
            ),
            *four_eyes_constraints("credit_policy"),
        ]

    def __str__(self) -> str:
        if self.is_active:
            return _("Credit policy v%(version)s (active)") % {"version": self.version}
        if self.status != PolicyStatus.PUBLISHED:
            return _("Credit policy v%(version)s (%(status)s)") % {"version": self.version, "status": self.get_status_display()}
        return _("Credit policy v%(version)s") % {"version": self.version}

    @property
    def version_name(self) -> str:
        return _("Credit policy v%(version)s") % {"version": self.version}


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
        return _("Decision #%(id)s: %(outcome)s (policy v%(version)s)") % {
            "id": self.pk, "outcome": self.get_outcome_display(), "version": self.policy_version}


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
        # "#7 Drawdown — Loan #1": the kind and the subject in words (no query).
        from ..choices import ledger_kind_label

        return f"#{self.seq} {ledger_kind_label(self.kind)} — {self.subject_label}"

    @property
    def subject_model(self):
        """The model the entry is about (``subject_type`` is its label), or None if gone."""
        from django.apps import apps

        try:
            return apps.get_model(self.subject_type)
        except (LookupError, ValueError):
            return None

    @property
    def subject_label(self) -> str:
        """The subject by kind and number, "Loan #1" / "贷款 #1" (no query)."""
        from django.utils.text import capfirst

        model = self.subject_model
        if model is None:
            return f"{self.subject_type} #{self.subject_id}"
        return f"{capfirst(model._meta.verbose_name)} #{self.subject_id}"
