"""The borrower files: partners, and the companies, persons and related parties they (or the
lender itself) keep.

The tables keep the names they had when these models belonged to the ``loans`` app
(``loans_company``, ...): the models moved, the data did not (migrations 0001 here and
loans 0020).  Invariants are enforced twice, as everywhere: by validation in services (clear
errors naming the field) and by named database constraints.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.history.records import History

from . import identity
from .choices import CompanyStatus, Industry, Province, Role
from .fields import MoneyField, TimeStamped
from .fields import in_choices as _in

# --- Partners -----------------------------------------------------------------------------


class Partner(TimeStamped):
    """A channel or platform that brings borrowers through the API."""

    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(default=True)
    history = History(table_name="loans_historicalpartner")

    class Meta:
        db_table = "loans_partner"  # the table of the loans app it came from: no data moved
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Borrowers ----------------------------------------------------------------------------


# Borrower files are per partner.  The rule, its reasons and what it means for each path are
# in README.md ("Whose data counts"); in short:
#
# * A partner's companies and persons are its own records.  A company is unique per
#   (partner, USCC), a person per (partner, resident-ID hash); the lender's own records have
#   no partner and are unique among themselves (a second, conditional constraint: NULLs are
#   distinct in a plain unique index on SQLite and PostgreSQL alike).
# * What a partner registers or sends attaches to its own records only, so it counts for its
#   own companies only, and nothing it gets back can come from another partner's records.
# * Trusted data (a bureau, the lender's own book) is about the real company or person: it is
#   written to every record that shares the natural key (USCC, resident-ID hash), and a new
#   record starts with it.
# * The lender-wide view (borrower groups, group exposure) joins records by natural key.
_LENDER = Q(partner__isnull=True)


class Company(TimeStamped):
    """A company as one partner (or the lender itself, ``partner`` empty) knows it.

    Several records may share a USCC, one per partner: see "Borrower files are per partner"
    above.  Whatever reads the real company across channels (borrower groups, exposure) goes
    by the USCC."""

    legal_name = models.CharField(max_length=200)
    uscc = models.CharField("USCC", max_length=18)
    industry = models.CharField(max_length=1, choices=Industry.choices)
    province = models.CharField(max_length=2, choices=Province.choices)
    founded_on = models.DateField()
    registered_capital = MoneyField()
    employees = models.PositiveIntegerField()
    annual_revenue = MoneyField()
    status = models.CharField(max_length=16, choices=CompanyStatus.choices, default=CompanyStatus.ACTIVE)
    is_blocklisted = models.BooleanField(default=False)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="companies"
    )
    history = History(table_name="loans_historicalcompany")

    class Meta:
        db_table = "loans_company"  # the table of the loans app it came from: no data moved
        verbose_name_plural = "companies"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["partner", "id"], name="company_partner_idx"),
            models.Index(fields=["status"], name="company_status_idx"),
            models.Index(fields=["legal_name"], name="company_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(registered_capital__gte=0), name="company_capital_non_negative"),
            models.CheckConstraint(condition=Q(annual_revenue__gte=0), name="company_revenue_non_negative"),
            models.CheckConstraint(condition=_in("status", CompanyStatus), name="company_status_valid"),
            models.CheckConstraint(condition=_in("industry", Industry), name="company_industry_valid"),
            models.CheckConstraint(condition=Q(uscc__regex=r"^[0-9A-HJ-NP-RTUW-Y]{18}$"), name="company_uscc_format"),
            # USCC first: the index also serves the lender-wide lookups by USCC alone.
            models.UniqueConstraint(
                fields=["uscc", "partner"], name="company_uscc_unique_per_partner",
                violation_error_message="This partner already has a company with this USCC.",
            ),
            models.UniqueConstraint(
                fields=["uscc"], condition=_LENDER, name="company_uscc_unique_lender",
                violation_error_message="The lender already has its own company with this USCC.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.uscc})"

    def clean(self):
        super().clean()
        if self.pk and RelatedParty.objects.filter(company_id=self.pk).exclude(person__partner_id=self.partner_id).exists():
            raise ValidationError({"partner": "Its related parties belong to another partner's file; a company and its persons share one partner."})


class Person(TimeStamped):
    """A natural person as one partner (or the lender itself, ``partner`` empty) knows them.

    Several records may share a resident ID, one per partner: see "Borrower files are per
    partner" above.  The resident ID never leaves encrypted form except through
    :meth:`reveal_resident_id`, which callers must audit; what is shown is the masked form
    (province and last four characters) and the birth year, never the birth date, so that
    together they do not determine the number."""

    name = models.CharField(max_length=100)
    resident_id_hash = models.CharField(max_length=64, editable=False)
    resident_id_encrypted = models.TextField(editable=False)
    resident_id_masked = models.CharField("resident ID", max_length=18, editable=False)
    phone_encrypted = models.TextField(blank=True, default="", editable=False)
    phone_masked = models.CharField("phone", max_length=11, blank=True, default="", editable=False)
    birth_year = models.PositiveSmallIntegerField(editable=False)
    is_blocklisted = models.BooleanField(default=False)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="persons"
    )
    # The ciphertexts stay out of the history (the masked forms and hashes say what changed, and
    # a key rotation need not rewrite the past); an erasure pseudonymises the history too.
    history = History(table_name="loans_historicalperson", excluded_fields=["resident_id_encrypted", "phone_encrypted"])

    class Meta:
        db_table = "loans_person"  # the table of the loans app it came from: no data moved
        ordering = ["id"]
        indexes = [models.Index(fields=["name"], name="person_name_idx")]
        permissions = [("reveal_personal_data", _("Can reveal a full resident ID or phone number, with a reason"))]
        constraints = [
            models.CheckConstraint(condition=Q(resident_id_masked__regex=r"^[0-9]{2}\*{12}[0-9]{3}[0-9X]$"), name="person_id_masked_format"),
            models.CheckConstraint(condition=Q(birth_year__gte=1900) & Q(birth_year__lte=2200), name="person_birth_year_range"),
            # The hash first: the index also serves the lender-wide lookups by resident ID alone.
            models.UniqueConstraint(
                fields=["resident_id_hash", "partner"], name="person_id_unique_per_partner",
                violation_error_message="This partner already has a person with this resident ID.",
            ),
            models.UniqueConstraint(
                fields=["resident_id_hash"], condition=_LENDER, name="person_id_unique_lender",
                violation_error_message="The lender already has its own person with this resident ID.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.resident_id_masked})"

    def clean(self):
        super().clean()
        if self.pk and RelatedParty.objects.filter(person_id=self.pk).exclude(company__partner_id=self.partner_id).exists():
            raise ValidationError({"partner": "The person holds roles in another partner's companies; a company and its persons share one partner."})

    def set_resident_id(self, compact: str) -> None:
        self.resident_id_hash = identity.lookup_hash(compact)
        self.resident_id_encrypted = identity.encrypt(compact)
        self.resident_id_masked = identity.mask_resident_id(compact)
        self.birth_year = identity.birth_year_from_resident_id(compact)

    def set_phone(self, digits: str) -> None:
        self.phone_encrypted = identity.encrypt(digits) if digits else ""
        self.phone_masked = identity.mask_phone(digits) if digits else ""

    def reveal_resident_id(self) -> str:
        return identity.decrypt(self.resident_id_encrypted)


def role_current_on(as_of, prefix: str = "") -> Q:
    """The one definition of "a role current on a date": it began on or before ``as_of`` and
    had not ended before it (``valid_to`` is the last day the role was held; NULL: still held).
    ``prefix`` reaches the role through a relation (``"roles__"``, ``"related_parties__"``).
    Raw SQL says the same through :func:`role_current_on_sql`."""
    return Q(**{f"{prefix}valid_from__lte": as_of}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": as_of})
    )


def role_current_on_sql(alias: str, day: str = "%s") -> str:
    """:func:`role_current_on` for raw SQL over ``RelatedParty`` as ``alias``.  ``day`` is the
    day as SQL, written twice: by default a ``%s`` placeholder, so two parameters, both the day
    (adapted, e.g. ``connection.ops.adapt_datefield_value``); a statement with named parameters
    passes its own (``%(as_of)s``), or any date expression."""
    meta = RelatedParty._meta
    start, end = (f'{alias}."{meta.get_field(n).column}"' for n in ("valid_from", "valid_to"))
    return f"{start} <= {day} AND ({end} IS NULL OR {end} >= {day})"


class RelatedPartyQuerySet(models.QuerySet):
    def current_on(self, as_of) -> RelatedPartyQuerySet:
        """The roles current on ``as_of`` (:func:`role_current_on`)."""
        return self.filter(role_current_on(as_of))


class RelatedParty(TimeStamped):
    """A person's role in a company.  A person may hold several roles in many companies."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="related_parties")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    ownership_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    history = History(table_name="loans_historicalrelatedparty")

    objects = RelatedPartyQuerySet.as_manager()

    class Meta:
        db_table = "loans_relatedparty"  # the table of the loans app it came from: no data moved
        verbose_name_plural = "related parties"
        ordering = ["company_id", "role", "id"]
        indexes = [
            models.Index(fields=["person", "role"], name="relparty_person_role_idx"),
            models.Index(fields=["company", "role"], name="relparty_company_role_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=_in("role", Role), name="relparty_role_valid"),
            models.CheckConstraint(
                condition=Q(ownership_pct__isnull=True) | (Q(ownership_pct__gt=0) & Q(ownership_pct__lte=100)),
                name="relparty_ownership_range",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.SHAREHOLDER) | Q(ownership_pct__isnull=False),
                name="relparty_shareholder_has_ownership",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="relparty_validity_ordered",
            ),
            models.UniqueConstraint(
                fields=["company", "person", "role"],
                condition=Q(valid_to__isnull=True),
                name="relparty_one_current_role",
            ),
        ]

    def __str__(self) -> str:
        return _("%(person)s — %(role)s of %(company)s") % {
            "person": self.person.name, "role": self.get_role_display(), "company": self.company.legal_name}

    def clean(self):
        super().clean()
        try:
            company, person = self.company, self.person
        except ObjectDoesNotExist:  # not chosen yet: the form reports the missing field
            return
        if company.partner_id != person.partner_id:
            raise ValidationError({"person": "This person is in another partner's file; a company's related parties "
                                             "are persons of the same partner (or all the lender's own)."})
