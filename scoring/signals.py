"""Signals of the scoring app.

``company_scores_written(sender, company_ids, as_of)``: sent after company scores were written
(the nightly chunks, on-demand scoring, and rescoring when new credit data arrives), with the
ids of the companies scored and the date they were scored for.  Receivers (e.g. protective
measures on lines whose company fell below the minimum) run in the writer's transaction and
process; they must be set-based for the nightly chunks' many ids.
"""

from django.dispatch import Signal

company_scores_written = Signal()  # kwargs: company_ids (list[int]), as_of (datetime.date)
