"""Models of the loans app, one module per area; import them from ``loans.models``."""

from .core import (  # noqa: F401
    ApplicationEvent,
    Collateral,
    Company,
    CreditLine,
    Guarantee,
    Installment,
    Loan,
    LoanApplication,
    LoanProduct,
    Partner,
    Person,
    PersonalDataReveal,
    RelatedParty,
    RelatedPartyQuerySet,
    Repayment,
    maker_of,
    role_current_on,
    role_current_on_sql,
)
from .privacy import ConsentSource, CreditCheckConsent, PersonDataRequest  # noqa: F401
from .underwriting import (  # noqa: F401
    DEFAULT_POLICY,
    BorrowerGroupMember,
    CreditPolicy,
    Decision,
    LedgerEntry,
)
