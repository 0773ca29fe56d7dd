"""Signals of the scoring app.

``company_scores_written(sender, company_ids, as_of)``: sent after company scores were written
and their latest pointers moved (the nightly chunks, on-demand scoring, and rescoring when new
credit data arrives), with the ids of the companies scored (a list; ``None`` means every
company scored on ``as_of``) and the date they were scored for.  Receivers (monitoring's
protective freezes) run in the writer's transaction and process; they must be set-based for
the nightly chunks' many ids.
"""

from django.dispatch import Signal

company_scores_written = Signal()  # kwargs: company_ids (list[int] | None), as_of (datetime.date)
