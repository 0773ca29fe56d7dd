"""Domain events of the loan book.

Services send these inside their transaction, after the change is written; whoever must
react (the partner API's webhooks) connects a receiver.  The loan book thus never imports
the API, and a rolled-back change sends nothing that leaves the process: receivers queue
their side effects with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# kwargs: application (LoanApplication), outcome ("approve" | "decline" | "refer"), and
# optionally reasons (list of str: a committee's reason and comments)
application_decided = Signal()

# kwargs: application (LoanApplication) — the automated decision referred it to the credit
# committee (the committee's case opens in the same transaction: monitoring.committee)
application_referred = Signal()

# kwargs: credit_line (CreditLine), change ("frozen" | "unfrozen" | "limit_cut" | "limit_raised" |
# "closed" | "loan_written_off")
credit_line_changed = Signal()

# kwargs: as_of (date), loans (list of (loan_id, partner_id, days_past_due, bucket)) — loans
# whose delinquency bucket worsened in this day's servicing
loans_became_overdue = Signal()
