"""Stripe-style idempotency for POSTs that create things.

The record is inserted *before* the work runs (its own small transaction), so of two
concurrent requests with one key only one executes; the other sees the record and answers
409 while the first is still running.  A successful (2xx) response is stored and replayed
for the same key and the same request; the same key with a different request answers 422.
Any error releases the key — nothing was created, since the work runs in one transaction —
so the partner can fix the request and retry with the same key.

A key in progress is a lease, not a lock held forever: a server killed mid-request leaves a
record with no response, and once its ``lease_until`` has passed (``IDEMPOTENCY_LEASE_SECONDS``,
a few seconds beyond the request timeout, after which the server has surely killed the
request) a retry takes the key over and does the work.  Exactly once, because

* the takeover is a compare-and-set on the attempt number (``UPDATE … WHERE attempt = n AND
  lease lapsed``): of two retries after the lapse, the row lock lets one through and the other
  finds attempt n + 1 and answers 409;
* the work commits only together with its stored response, and that UPDATE, too, names the
  attempt: a holder that was merely slow and lost its lease matches no row, so its work rolls
  back and the partner gets the winner's response (or 409 while the winner still runs).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.response import Response

from .exceptions import APIError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STORED_STATUSES = frozenset(range(200, 300))


def fingerprint(method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


class _LeaseLost(Exception):
    """This request's attempt no longer holds the key: its work must roll back."""


def _claim(partner_id: int, key: str, fp: str) -> tuple[IdempotencyRecord, bool]:
    for _ in range(3):  # the holder may release the key between our insert and our read
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    partner_id=partner_id, key=key, fingerprint=fp, lease_until=timezone.now() + lease()
                )
                return record, True
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(partner_id=partner_id, key=key).first()
            if record is not None:
                return record, False
    raise APIError(
        f"A request with {HEADER} {key!r} is still being processed; retry shortly.",
        code="idempotency_in_progress", status_code=409,
    )


def _take_over(record: IdempotencyRecord) -> bool:
    """Become the next attempt of a record whose holder's lease lapsed; False if the lease is
    live, the work is done, or another retry got there first."""
    now = timezone.now()
    lapsed = Q(lease_until__lt=now) | Q(lease_until__isnull=True, created_at__lt=now - lease())
    taken = (
        IdempotencyRecord.objects.filter(lapsed, pk=record.pk, attempt=record.attempt, response_status__isnull=True)
        .update(attempt=F("attempt") + 1, lease_until=now + lease())
    )
    if taken:
        record.attempt += 1
    return bool(taken)


def _mine(record: IdempotencyRecord):
    """The record while this request's attempt still holds it (and has not stored a response)."""
    return IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt, response_status__isnull=True)


def _in_progress(record: IdempotencyRecord, key: str) -> APIError:
    error = APIError(
        f"A request with {HEADER} {key!r} is still being processed; retry shortly.",
        code="idempotency_in_progress", status_code=409,
    )
    until = record.lease_until or (record.created_at + lease())
    error.wait = max(1, math.ceil((until - timezone.now()).total_seconds()))  # Retry-After
    return error


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def idempotent(view_method):
    """Decorate an APIView ``post``: honours the ``Idempotency-Key`` header when present."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise APIError(
                f"{HEADER} must be 1–{MAX_KEY_LENGTH} printable characters.", code="validation_error", status_code=400,
                fields={HEADER: [f"Must be 1–{MAX_KEY_LENGTH} printable characters."]},
            )
        data = request.data  # parse first: malformed JSON is a 400 that claims nothing
        fp = fingerprint(request.method, request.path, data)
        partner_id = request.user.partner_id
        record, created = _claim(partner_id, key, fp)
        if not created:
            if record.fingerprint != fp:
                raise APIError(
                    f"{HEADER} {key!r} was already used with a different request.",
                    code="idempotency_key_reused", status_code=422,
                )
            if record.response_status is not None:
                return _replay(record)
            if not _take_over(record):
                record.refresh_from_db()
                if record.response_status is not None:  # completed while we looked
                    return _replay(record)
                raise _in_progress(record, key)
        try:
            # The work and the stored response commit together: a crash in between leaves
            # neither, and the record is taken over once its lease lapses.
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code in STORED_STATUSES and not _complete(record, response):
                    raise _LeaseLost
        except _LeaseLost:
            # A retry took the key over while this request ran past its lease: the retry's
            # answer is the one that counts, and this request's work has rolled back.
            record.refresh_from_db()
            if record.response_status is not None:
                return _replay(record)
            raise _in_progress(record, key) from None
        except BaseException:
            _mine(record).delete()
            raise
        if response.status_code not in STORED_STATUSES:
            _mine(record).delete()
        return response

    return wrapper


def _complete(record: IdempotencyRecord, response) -> bool:
    """Store the response if this attempt still holds the key; False if it lost it."""
    body = json.loads(json.dumps(response.data, default=str)) if response.data is not None else None
    return bool(_mine(record).update(response_status=response.status_code, response_body=body, completed_at=timezone.now()))
