"""Housekeeping of the partner API's own records."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import IdempotencyRecord


def idempotency_records_purge(*, older_than: datetime.timedelta, batch_size: int = 5000) -> int:
    """Delete idempotency records created more than ``older_than`` ago (replaying a response
    is promised for the retention period only); in batches, each its own short transaction, so
    that a large backlog never holds a long lock.  Returns how many were deleted."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        # created_at is indexed (idem_created_idx): each batch is an index range scan.
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
