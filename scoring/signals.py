"""Signals of the scoring app.

``company_scores_written``: new company scores are in (and their latest pointers moved).
kwargs: ``company_ids`` (an iterable of company ids, or None for "every company scored on
``as_of``", which the nightly run sends once its companies phase is done) and ``as_of``.
Receivers (monitoring's protective freezes) run in the sender's transaction.
"""

from django.dispatch import Signal

company_scores_written = Signal()
