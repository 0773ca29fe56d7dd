"""Stripe-style idempotency for POSTs that create things.

The record is inserted *before* the work runs (its own small transaction), so of two
concurrent requests with one key only one executes; the other sees the record and answers
409 while the first is still running.  A successful (2xx) response is stored and replayed
for the same key and the same request; the same key with a different request answers 422.
Any error releases the key — nothing was created, since the work runs in one transaction —
so the partner can fix the request and retry with the same key.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from .exceptions import APIError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STORED_STATUSES = frozenset(range(200, 300))
STALE_AFTER = datetime.timedelta(minutes=2)  # an unfinished record older than this was abandoned


def fingerprint(method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def _claim(partner_id: int, key: str, fp: str) -> tuple[IdempotencyRecord, bool]:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(partner_id=partner_id, key=key, fingerprint=fp), True
    except IntegrityError:
        return IdempotencyRecord.objects.get(partner_id=partner_id, key=key), False


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
            if record.response_status is None and record.created_at < timezone.now() - STALE_AFTER:
                IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()
                record, created = _claim(partner_id, key, fp)
        if not created:
            if record.response_status is None:
                raise APIError(
                    f"A request with {HEADER} {key!r} is still being processed; retry shortly.",
                    code="idempotency_in_progress", status_code=409,
                )
            return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})
        try:
            # The work and the stored response commit together: a crash in between leaves
            # neither, and the in-progress record is taken over once it is stale.
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code in STORED_STATUSES:
                    _complete(record, response)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code not in STORED_STATUSES:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response

    return wrapper


def _complete(record: IdempotencyRecord, response) -> None:
    body = json.loads(json.dumps(response.data, default=str)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_body=body, completed_at=timezone.now()
    )
