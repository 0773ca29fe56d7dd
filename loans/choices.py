"""Enumerations of the loan domain.  Values are stored; labels are what officers read."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The borrower files' enumerations live with them (loans.parties); named here too, as before.
from .parties.choices import CompanyStatus, Industry, Province, Role  # noqa: F401


class ProductKind(models.TextChoices):
    REVOLVING = "revolving", _("Revolving credit line")
    TERM = "term", _("Term loan")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installment")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_FIRST = "interest_first", _("Interest first")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred to committee")
    COMMITTEE_APPROVED = "committee_approved", _("Approved by committee")
    COMMITTEE_DECLINED = "committee_declined", _("Declined by committee")
    ACCEPTED = "accepted", _("Accepted by borrower")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REPAID = "repaid", _("Repaid")
    WRITTEN_OFF = "written_off", _("Written off")


class Bucket(models.TextChoices):
    CURRENT = "current", _("Current")
    M1 = "m1", _("M1 (1–30 DPD)")
    M2 = "m2", _("M2 (31–60 DPD)")
    M3 = "m3", _("M3 (61–90 DPD)")
    M3_PLUS = "m3_plus", _("M3+ (>90 DPD)")


class Classification(models.TextChoices):
    """The five regulatory loan categories (贷款五级分类)."""

    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


class CollateralKind(models.TextChoices):
    REAL_ESTATE = "real_estate", _("Real estate")
    EQUIPMENT = "equipment", _("Equipment")
    VEHICLE = "vehicle", _("Vehicle")
    RECEIVABLES = "receivables", _("Receivables")
    INVENTORY = "inventory", _("Inventory")
    DEPOSIT = "deposit", _("Deposit")
    EQUITY = "equity", _("Equity")
    OTHER = "other", _("Other")


class SecurityStatus(models.TextChoices):
    PLEDGED = "pledged", _("Pledged")
    RELEASED = "released", _("Released")


# The ledger's kinds of entry in words.  The kinds are open codes, not a choice list
# (``loans.ledger_chain.LedgerKind``: a new kind needs no schema change), so they are named
# here, and a kind not named yet is shown as its code.
LEDGER_KIND_LABELS = {
    "decision.automated": _("Automated decision"),
    "decision.committee": _("Committee decision"),
    "drawdown": _("Drawdown"),
    "repayment": _("Repayment"),
    "credit_line.limit_changed": _("Credit limit changed"),
    "credit_line.status_changed": _("Credit line status changed"),
    "loan.status_changed": _("Loan status changed"),
    "post_loan_action.executed": _("Post-loan action executed"),
    "committee.case_closed": _("Committee case closed"),
    "ledger.chain_keyed": _("Ledger chain keyed"),
}


def ledger_kind_label(kind: str) -> str:
    """``drawdown`` → "Drawdown" / "放款"; an unknown kind as its code."""
    label = LEDGER_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind
