"""Models of the loans app, one module per area; import them from ``loans.models``.

The borrower files (partners, companies, persons, related parties) are the ``loans.parties``
app's; they are named here too so that ``from loans.models import Company`` keeps working
inside loans.  Code outside loans (scoring) imports them from ``loans.parties.models``.
"""

from ..parties.models import (  # noqa: F401
    Company,
    Partner,
    Person,
    RelatedParty,
    RelatedPartyQuerySet,
    role_current_on,
    role_current_on_sql,
)
from .core import (  # noqa: F401
    ApplicationEvent,
    Collateral,
    CreditLine,
    Guarantee,
    Installment,
    Loan,
    LoanApplication,
    LoanProduct,
    PersonalDataReveal,
    Repayment,
    maker_of,
)
from .privacy import ConsentSource, CreditCheckConsent, PersonDataRequest  # noqa: F401
from .underwriting import (  # noqa: F401
    DEFAULT_POLICY,
    BorrowerGroupMember,
    CreditPolicy,
    Decision,
    LedgerEntry,
)
