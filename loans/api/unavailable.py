"""With the database unreachable, answer 503 with ``Retry-After`` — never a 500.

A database that is down (or restarting, or refusing connections) is a passing condition, not a
bug: partners should retry later, and so should an officer in the admin.  Django raises it as
``OperationalError`` (connection refused, server closed the connection, statement or lock
timeouts, deadlocks) or ``InterfaceError`` (the connection is already closed); every one is
worth a retry.  Three places turn it into a 503:

* the partner API's exception handler (DRF catches everything raised in an API view),
  through :func:`api_response`;
* :class:`DatabaseUnavailableMiddleware` for every other view (the admin);
* :func:`server_error`, the project's ``handler500``, for what is raised outside views
  (a session saved by middleware after the view).

Nothing half-done stays behind: each request's writes run in transactions that the lost
connection rolls back.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .exceptions import error_body, is_api_path
from .exceptions import server_error as plain_server_error

log = logging.getLogger("loans.api")


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _retry_after() -> int:
    return int(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)


def _body() -> dict:
    return error_body(
        "service_unavailable",
        _("The service cannot reach its database just now; retry in %(seconds)d seconds.")
        % {"seconds": _retry_after()},
    )


def _log(request, exc: BaseException) -> None:
    # No traceback: the cause is outside the code, and an outage would flood the log.
    log.error("database unavailable, answered 503 to %s %s: %s: %s",
              request.method, request.path, type(exc).__name__, str(exc).strip()[:300])


def api_response(request, exc: BaseException) -> Response:
    """The partner API's 503 (a DRF response in the one error shape)."""
    _log(request, exc)
    return Response(_body(), status=503, headers={"Retry-After": str(_retry_after())})


def unavailable_response(request, exc: BaseException) -> HttpResponse:
    """JSON under /api/, a short page elsewhere; both with Retry-After.  Renders without the
    request's context processors, which could touch the database again."""
    _log(request, exc)
    if is_api_path(request):
        response = JsonResponse(_body(), status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"retry_after": _retry_after()}), status=503)
    response["Retry-After"] = str(_retry_after())
    return response


class DatabaseUnavailableMiddleware:
    """503 + Retry-After for a view (the admin's) that could not reach the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return unavailable_response(request, exception)
        return None


def server_error(request, *args, **kwargs):
    """``handler500``: a 503 when what failed was the database, else the project's 500."""
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return unavailable_response(request, exc)
    return plain_server_error(request, *args, **kwargs)
