"""The loan domain: what borrowers borrow and what they owe (who borrows: ``loans.parties``).

Invariants are enforced twice: by validation in services (clear errors naming the
field) and by named database constraints (a backstop nobody can skip).
Money columns are ``DecimalField(max_digits=18, decimal_places=2)``; rates are
fractions with six places (0.085000 = 8.5 % a year).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.history.records import History
from scoring.scale import MAX_SCORE

from ..choices import (
    ApplicationStatus,
    Bucket,
    Classification,
    CollateralKind,
    CreditLineStatus,
    LoanStatus,
    ProductKind,
    RepaymentMethod,
    SecurityStatus,
)
from ..parties.fields import MoneyField, TimeStamped
from ..parties.fields import in_choices as _in

# The borrower files (a Django app of their own, loans.parties); named here for this module's
# foreign keys and for the code that imports them from loans.models.
from ..parties.models import Company, Partner, Person
from ..schedule import MAX_TERM_MONTHS


def RateField(**kwargs):  # noqa: N802 - reads like a field class
    return models.DecimalField(max_digits=8, decimal_places=6, **kwargs)


# --- Products -----------------------------------------------------------------------------


def _money(amount) -> str:
    """An amount as people read it in a name ("¥60,000.00": the symbol reads the same in
    every language); imported late, the back office's formatting imports ``loans``."""
    from config.backoffice.formatting import format_money

    return format_money(amount)


class LoanProduct(TimeStamped):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ProductKind.choices)
    repayment_method = models.CharField(max_length=24, choices=RepaymentMethod.choices)
    min_amount = MoneyField()
    max_amount = MoneyField()
    min_term_months = models.PositiveSmallIntegerField()
    max_term_months = models.PositiveSmallIntegerField()
    min_score = models.PositiveSmallIntegerField(default=600)
    rate_spread = RateField(default=Decimal("0"), help_text="Added to the tier's base rate.")
    line_validity_months = models.PositiveSmallIntegerField(default=12)
    is_active = models.BooleanField(default=True)
    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")), name="product_amount_range"),
            models.CheckConstraint(
                condition=Q(min_term_months__gte=1) & Q(max_term_months__gte=F("min_term_months")) & Q(max_term_months__lte=MAX_TERM_MONTHS),
                name="product_term_range",
            ),
            models.CheckConstraint(condition=Q(min_score__lte=MAX_SCORE), name="product_min_score_range"),
            models.CheckConstraint(condition=Q(rate_spread__gt=-1) & Q(rate_spread__lt=1), name="product_spread_range"),
            models.CheckConstraint(condition=_in("kind", ProductKind), name="product_kind_valid"),
            models.CheckConstraint(condition=_in("repayment_method", RepaymentMethod), name="product_method_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


# --- Applications, lines, loans -----------------------------------------------------------


class LoanApplication(TimeStamped):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="applications")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="applications")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    requested_amount = MoneyField()
    term_months = models.PositiveSmallIntegerField()
    purpose = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=24, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT)
    # Outcome of the automated decision (or the committee), copied here for lists and the API;
    # the full record of inputs and reasons lives in the decision.
    approved_limit = MoneyField(null=True, blank=True)
    annual_rate = RateField(null=True, blank=True)
    tier = models.CharField(max_length=2, blank=True, default="")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who made the application, whoever that was: "user:<id>" (an officer in the admin),
    # "partner:<id>" (a partner through the API) or "system:<what>" (a script).  The
    # maker-checker guard reads this, never an empty field (see ``maker_of``).
    maker = models.CharField(_("maker"), max_length=64, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="application_status_idx"),
            models.Index(fields=["company", "-id"], name="application_company_idx"),
            models.Index(fields=["partner", "-id"], name="application_partner_idx"),
        ]
        # Each step of an application is its own right, so that roles can split them
        # (an officer submits, the committee decides, ...).  Changing the record itself is
        # never a step: it moves only through these.
        permissions = [
            ("submit_application", "Can submit an application for the automated decision"),
            ("decide_referred_application", "Can approve or decline a referred application in committee"),
            ("accept_offer", "Can record that the borrower accepts an offer"),
            ("book_application", "Can book an accepted application (opens its credit line)"),
            ("withdraw_application", "Can withdraw an application"),
            ("export_csv", "Can export applications as CSV"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gte=1) & Q(term_months__lte=MAX_TERM_MONTHS), name="application_term_range"),
            models.CheckConstraint(condition=Q(approved_limit__isnull=True) | Q(approved_limit__gt=0), name="application_limit_positive"),
            models.CheckConstraint(condition=Q(annual_rate__isnull=True) | (Q(annual_rate__gte=0) & Q(annual_rate__lt=1)), name="application_rate_range"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=MAX_SCORE), name="application_score_range"),
            models.CheckConstraint(condition=_in("status", ApplicationStatus), name="application_status_valid"),
            models.CheckConstraint(condition=~Q(maker=""), name="application_maker_recorded"),
        ]

    def __str__(self) -> str:
        return gettext("Application #%(id)s — %(company)s") % {"id": self.pk, "company": self.company.legal_name}


def maker_of(*, actor=None, partner_id: int | None = None, system: str = "") -> str:
    """The maker label of something made by ``actor`` (a user), else by a partner, else by
    the named system process; never empty."""
    if getattr(actor, "pk", None) is not None:
        return f"user:{actor.pk}"
    if partner_id is not None:
        return f"partner:{partner_id}"
    return f"system:{system or 'unattended'}"[:64]


def status_label(status: str) -> str:
    """An application status in words ("Submitted", "已提交"); an unknown value as it is."""
    return str(ApplicationStatus(status).label) if status in ApplicationStatus.values else status


class ApplicationEvent(models.Model):
    """History of an application's status: one row per transition."""

    application = models.ForeignKey(LoanApplication, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application_id", "id"]

    def __str__(self) -> str:
        moved = f"{status_label(self.from_status)} → {status_label(self.to_status)}" if self.from_status else status_label(self.to_status)
        return gettext("Application #%(id)s: %(moved)s") % {"id": self.application_id, "moved": moved}


class CreditLine(TimeStamped):
    """A revolving limit (授信额度) valid for a period; drawdowns against it become loans."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="credit_lines")
    application = models.OneToOneField(LoanApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_line")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="credit_lines")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_lines")
    limit_amount = MoneyField()
    # Sum of principal outstanding on this line's loans, kept here so that a drawdown can
    # lock one row and the database can refuse a line drawn beyond its limit.
    drawn_principal = MoneyField(default=Decimal("0.00"))
    annual_rate = RateField()
    tier = models.CharField(max_length=2, blank=True, default="")
    status = models.CharField(max_length=8, choices=CreditLineStatus.choices, default=CreditLineStatus.ACTIVE)
    opened_on = models.DateField()
    expires_on = models.DateField()
    history = History()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["company", "status"], name="line_company_status_idx"),
            models.Index(fields=["status", "expires_on"], name="line_status_expiry_idx"),
            models.Index(fields=["partner", "-id"], name="line_partner_idx"),
        ]
        # Post-loan moves on a line, each its own right (freezing protects; unfreezing,
        # closing and cutting the limit are decisions of their own).
        permissions = [
            ("freeze_line", "Can freeze a credit line"),
            ("unfreeze_line", "Can unfreeze a credit line"),
            ("close_line", "Can close a credit line"),
            ("reduce_line_limit", "Can reduce a credit line's limit"),
            ("export_csv", "Can export credit lines as CSV"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(limit_amount__gte=0), name="line_limit_non_negative"),
            models.CheckConstraint(condition=Q(drawn_principal__gte=0) & Q(drawn_principal__lte=F("limit_amount")), name="line_drawn_within_limit"),
            models.CheckConstraint(condition=Q(annual_rate__gte=0) & Q(annual_rate__lt=1), name="line_rate_range"),
            models.CheckConstraint(condition=Q(expires_on__gt=F("opened_on")), name="line_expiry_after_opening"),
            models.CheckConstraint(condition=_in("status", CreditLineStatus), name="line_status_valid"),
        ]

    def __str__(self) -> str:
        return gettext("Credit line #%(id)s — %(company)s") % {"id": self.pk, "company": self.company.legal_name}

    @property
    def available_amount(self) -> Decimal:
        return self.limit_amount - self.drawn_principal


class Loan(TimeStamped):
    """A drawdown on a credit line, with its schedule of installments."""

    credit_line = models.ForeignKey(CreditLine, on_delete=models.PROTECT, related_name="loans")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="loans")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="loans")
    principal = MoneyField()
    annual_rate = RateField()
    term_months = models.PositiveSmallIntegerField()
    repayment_method = models.CharField(max_length=24, choices=RepaymentMethod.choices)
    disbursed_on = models.DateField()
    first_due_date = models.DateField()
    maturity_date = models.DateField()
    status = models.CharField(max_length=12, choices=LoanStatus.choices, default=LoanStatus.ACTIVE)
    outstanding_principal = MoneyField()
    penalty_accrued = MoneyField(default=Decimal("0.00"))
    days_past_due = models.PositiveIntegerField(default=0)
    bucket = models.CharField(max_length=8, choices=Bucket.choices, default=Bucket.CURRENT)
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.NORMAL)
    serviced_on = models.DateField(null=True, blank=True)
    # Set by servicing, set-based, the first time the loan is more than 90 days past due, and
    # never cleared: a loan that went M3+ and cured still counts in its vintage's M3+ curve.
    m3_plus_since = models.DateField(
        null=True, blank=True, help_text="the day the loan first went more than 90 days past due (kept after it cures)"
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - NULL: no key; unique among keys given
    # The schedule in force: its installments carry this version; earlier versions' rows are
    # kept, marked superseded (a prepayment, restructure or recall never deletes a row).
    schedule_version = models.PositiveSmallIntegerField(default=1, db_default=1)
    restructured_on = models.DateField(null=True, blank=True)
    watch_until = models.DateField(
        null=True, blank=True, help_text="after a restructure: at least special mention until this date, whatever the DPD"
    )

    class Meta:
        ordering = ["-id"]
        permissions = [("export_csv", "Can export loans as CSV")]
        indexes = [
            models.Index(fields=["status", "id"], name="loan_status_idx"),
            models.Index(fields=["company", "status"], name="loan_company_status_idx"),
            models.Index(fields=["partner", "-id"], name="loan_partner_idx"),
            models.Index(fields=["bucket"], name="loan_bucket_idx"),
            models.Index(fields=["classification"], name="loan_classification_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(outstanding_principal__gte=0) & Q(outstanding_principal__lte=F("principal")), name="loan_outstanding_range"),
            models.CheckConstraint(condition=Q(penalty_accrued__gte=0), name="loan_penalty_non_negative"),
            models.CheckConstraint(condition=Q(annual_rate__gte=0) & Q(annual_rate__lt=1), name="loan_rate_range"),
            models.CheckConstraint(condition=Q(term_months__gte=1) & Q(term_months__lte=MAX_TERM_MONTHS), name="loan_term_range"),
            models.CheckConstraint(condition=Q(first_due_date__gt=F("disbursed_on")), name="loan_first_due_after_disbursal"),
            models.CheckConstraint(condition=_in("status", LoanStatus), name="loan_status_valid"),
            models.CheckConstraint(condition=_in("bucket", Bucket), name="loan_bucket_valid"),
            models.CheckConstraint(condition=_in("classification", Classification), name="loan_classification_valid"),
            models.UniqueConstraint(fields=["credit_line", "idempotency_key"], name="loan_drawdown_idempotency"),
            models.CheckConstraint(condition=Q(schedule_version__gte=1), name="loan_schedule_version_positive"),
            models.CheckConstraint(
                condition=Q(watch_until__isnull=True) | Q(restructured_on__isnull=False), name="loan_watch_after_restructure"
            ),
            models.CheckConstraint(
                condition=Q(m3_plus_since__isnull=True) | Q(m3_plus_since__gt=F("disbursed_on")), name="loan_m3_plus_after_disbursal"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Loan #%(id)s — %(principal)s") % {"id": self.pk, "principal": _money(self.principal)}


class Installment(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal_due = MoneyField()
    interest_due = MoneyField()
    penalty_due = MoneyField(default=Decimal("0.00"))
    principal_paid = MoneyField(default=Decimal("0.00"))
    interest_paid = MoneyField(default=Decimal("0.00"))
    penalty_paid = MoneyField(default=Decimal("0.00"))
    paid_on = models.DateField(null=True, blank=True)
    schedule_version = models.PositiveSmallIntegerField(default=1, db_default=1)
    superseded_on = models.DateField(
        null=True, blank=True, help_text="replaced by a later schedule version on this date (kept as history)"
    )

    class Meta:
        ordering = ["loan_id", "schedule_version", "number"]
        indexes = [
            # Daily servicing reads the unpaid installments in force by due date.
            models.Index(
                fields=["due_date"], condition=Q(paid_on__isnull=True) & Q(superseded_on__isnull=True),
                name="installment_unpaid_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["loan", "schedule_version", "number"], name="installment_unique_number"),
            models.CheckConstraint(condition=Q(principal_due__gte=0) & Q(interest_due__gte=0) & Q(penalty_due__gte=0), name="installment_due_non_negative"),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0) & Q(principal_paid__lte=F("principal_due"))
                & Q(interest_paid__gte=0) & Q(interest_paid__lte=F("interest_due"))
                & Q(penalty_paid__gte=0) & Q(penalty_paid__lte=F("penalty_due")),
                name="installment_paid_within_due",
            ),
        ]

    def __str__(self) -> str:
        # The title of each row of a loan's installments: in the reader's language.
        values = {"number": self.number, "date": self.due_date, "version": self.schedule_version}
        if self.superseded_on:
            return gettext("#%(number)s due %(date)s (v%(version)s, superseded)") % values
        return gettext("#%(number)s due %(date)s") % values

    @property
    def amount_due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.penalty_due

    @property
    def amount_outstanding(self) -> Decimal:
        return (
            self.principal_due - self.principal_paid
            + self.interest_due - self.interest_paid
            + self.penalty_due - self.penalty_paid
        )


class Repayment(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    external_ref = models.CharField(max_length=100)
    amount = MoneyField()
    received_on = models.DateField()
    penalty_part = MoneyField(default=Decimal("0.00"))
    interest_part = MoneyField(default=Decimal("0.00"))
    principal_part = MoneyField(default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["loan_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "external_ref"], name="repayment_unique_external_ref"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive"),
            models.CheckConstraint(
                condition=Q(penalty_part__gte=0) & Q(interest_part__gte=0) & Q(principal_part__gte=0),
                name="repayment_parts_non_negative",
            ),
            # Written as a band narrower than a cent, not as equality: SQLite evaluates the sum
            # in binary floating point; on PostgreSQL (exact numerics, two places) it is equality.
            models.CheckConstraint(
                condition=Q(amount__gte=F("penalty_part") + F("interest_part") + F("principal_part") - Decimal("0.001"))
                & Q(amount__lte=F("penalty_part") + F("interest_part") + F("principal_part") + Decimal("0.001")),
                name="repayment_parts_sum_to_amount",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(amount)s on %(date)s (%(ref)s)") % {
            "amount": _money(self.amount), "date": self.received_on, "ref": self.external_ref}


# --- Security -----------------------------------------------------------------------------


class Collateral(TimeStamped):
    owner = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="collateral")
    kind = models.CharField(max_length=16, choices=CollateralKind.choices)
    description = models.CharField(max_length=300)
    appraised_value = MoneyField()
    haircut_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("30.00"), help_text="Percent deducted from the appraisal.")
    valued_on = models.DateField()
    credit_line = models.ForeignKey(CreditLine, null=True, blank=True, on_delete=models.PROTECT, related_name="collateral")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="collateral")
    status = models.CharField(max_length=12, choices=SecurityStatus.choices, default=SecurityStatus.PLEDGED)

    class Meta:
        verbose_name_plural = "collateral"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(appraised_value__gte=0), name="collateral_value_non_negative"),
            models.CheckConstraint(condition=Q(haircut_pct__gte=0) & Q(haircut_pct__lt=100), name="collateral_haircut_range"),
            models.CheckConstraint(condition=Q(credit_line__isnull=False) | Q(loan__isnull=False), name="collateral_secures_something"),
            models.CheckConstraint(condition=_in("kind", CollateralKind), name="collateral_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"

    @property
    def lending_value(self) -> Decimal:
        return (self.appraised_value * (100 - self.haircut_pct) / 100).quantize(Decimal("0.01"))


class Guarantee(TimeStamped):
    guarantor_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="guarantees")
    guarantor_company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT, related_name="guarantees_given")
    amount = MoneyField()
    credit_line = models.ForeignKey(CreditLine, null=True, blank=True, on_delete=models.PROTECT, related_name="guarantees")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="guarantees")
    status = models.CharField(max_length=12, choices=SecurityStatus.choices, default=SecurityStatus.PLEDGED)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="guarantee_amount_positive"),
            models.CheckConstraint(
                condition=(Q(guarantor_person__isnull=False) & Q(guarantor_company__isnull=True))
                | (Q(guarantor_person__isnull=True) & Q(guarantor_company__isnull=False)),
                name="guarantee_exactly_one_guarantor",
            ),
            models.CheckConstraint(condition=Q(credit_line__isnull=False) | Q(loan__isnull=False), name="guarantee_secures_something"),
        ]

    def __str__(self) -> str:
        who = self.guarantor_person or self.guarantor_company
        return gettext("Guarantee by %(who)s for %(amount)s") % {"who": who, "amount": _money(self.amount)}


class PersonalDataReveal(models.Model):
    """One showing of a person's full resident ID or phone: who, whom, when and why."""

    class Field(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID")
        PHONE = "phone", _("Phone number")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reveals")
    field = models.CharField(_("field"), max_length=16, choices=Field.choices)
    reason = models.CharField(_("reason"), max_length=500)
    revealed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revealed_at = models.DateTimeField(_("revealed at"), auto_now_add=True)

    class Meta:
        ordering = ["-revealed_at", "-id"]
        verbose_name = _("personal data reveal")
        verbose_name_plural = _("personal data reveals")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="reveal_reason_required"),
            models.CheckConstraint(condition=Q(field__in=["resident_id", "phone"]), name="reveal_field_valid"),
        ]

    def __str__(self) -> str:
        return _("%(user)s revealed the %(field)s of person #%(person)s") % {
            "user": self.revealed_by, "field": self.get_field_display(), "person": self.person_id,
        }
