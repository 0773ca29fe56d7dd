"""The one place where errors become HTTP: every API error has the shape

    {"error": {"code": "validation_error", "message": "...", "fields": {"uscc": ["..."]}}}

DRF's own exceptions, Django's ``ValidationError`` (raised by services with field keys),
``DomainError`` (and its ``NotFound``), ``Http404``, the database's refusals (a constraint the
services did not foresee is a 409, a value a column cannot hold a 400), Django's refusals of a
suspicious request (a 400) and anything unexpected (a JSON 500, logged) all pass through
:func:`api_exception_handler`.

Field paths have one form everywhere: ``related_parties[2].id_number``, ``events[0]``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loans.errors import DomainError

logger = logging.getLogger("loans.api")


class APIError(exceptions.APIException):
    """An API-level error with a code of our choosing (e.g. idempotency conflicts)."""

    def __init__(self, message: str, *, code: str, status_code: int, fields: dict | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.fields = fields


# Domain codes whose HTTP status the API fixes (the same idempotency semantics everywhere).
DOMAIN_STATUS = {"idempotency_conflict": 422}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"related_parties[1].id_number": ["..."]}.  DRF reports a
    list's items as a list or as a dict keyed by index (ListField, ListSerializer): both become
    ``[i]``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = str(key) if not prefix else f"{prefix}.{key}"
            if key in ("non_field_errors", "__all__"):
                name = prefix or "non_field_errors"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
        else:
            for i, value in enumerate(detail):
                if value in ({}, []):
                    continue
                for k, v in _flatten(value, f"{prefix}[{i}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def api_exception_handler(exc, context):
    from .unavailable import api_response, is_database_unavailable

    if is_database_unavailable(exc):  # the database is down: 503 + Retry-After, not a 500
        return api_response(context["request"], exc)
    if isinstance(exc, DjangoValidationError):
        return Response(
            error_body("validation_error", "The request has invalid fields.", _django_validation_fields(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else None
        return Response(error_body(exc.code, exc.message, fields), status=DOMAIN_STATUS.get(exc.code, exc.http_status))
    if isinstance(exc, IntegrityError):
        # A rule the services should have checked first (or a concurrent request won a race):
        # logged, so that the missing check is found; the partner learns nothing of the schema.
        logger.warning("A database constraint refused a partner API request", exc_info=exc)
        return Response(
            error_body("conflict", "The request conflicts with data already stored; nothing was saved."),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        logger.warning("The database refused a value from a partner API request", exc_info=exc)
        return Response(
            error_body("invalid_value", "A value in the request cannot be stored (too long, too large or malformed)."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        from .parsers import body_too_large_message, max_body_bytes

        return Response(error_body("body_too_large", body_too_large_message(max_body_bytes())), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):  # too many fields, a bad Host, …: Django answers 400 too
        logger.warning("Suspicious partner API request: %s", exc)
        return Response(error_body("bad_request", "The request was refused as malformed."), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:  # not an API exception: log it and answer a JSON 500, never HTML
        logger.exception("Unhandled error in the partner API", exc_info=exc)
        return Response(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, APIError):
        response.data = error_body(exc.error_code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        response.data = error_body("validation_error", "The request has invalid fields.", _flatten(exc.detail))
    elif isinstance(exc, exceptions.ParseError):
        response.status_code = status.HTTP_400_BAD_REQUEST
        code = exc.get_codes()
        response.data = error_body(code if isinstance(code, str) else "parse_error", str(exc.detail))
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, str(exc.detail))
    return response


# --- plain Django views for /api/ paths that DRF never sees -----------------------------------


@csrf_exempt  # any method: a POST to an unknown API path is a 404 too, not a CSRF page
def json_not_found(request, *args, **kwargs):
    return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)


def json_server_error(request, *args, **kwargs):
    return JsonResponse(error_body("server_error", "Something went wrong on our side; it has been logged."), status=500)


def is_api_path(request) -> bool:
    return request.path.startswith("/api/")


def server_error(request, *args, **kwargs):
    """``handler500``: JSON for the API, Django's page for everything else."""
    if is_api_path(request):
        return json_server_error(request)
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


def bad_request(request, exception=None, *args, **kwargs):
    """``handler400`` (a request Django refused as suspicious before any view, e.g. a bad Host):
    JSON for the API, Django's page for everything else."""
    if is_api_path(request):
        return JsonResponse(error_body("bad_request", "The request was refused as malformed."), status=400)
    from django.views.defaults import bad_request as django_bad_request

    return django_bad_request(request, exception)
