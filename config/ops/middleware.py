"""Request-level middleware of the operations layer: the request id and our own access log,
and the response headers Django has no setting for."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

from . import logs
from .metrics import http_request_observed

access_log = logging.getLogger("sme.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it looks like an id (a load balancer's, a partner's trace id);
# anything else is replaced, so that a header cannot smuggle text into the logs.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def _who(request) -> dict:
    """The partner or staff user of the request, if the request already knows it: an
    unevaluated lazy user is left alone (no session or database read just for the log)."""
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return {}
    partner_id = getattr(user, "partner_id", None)
    if partner_id is not None:
        return {"partner_id": partner_id}
    if getattr(user, "is_authenticated", False) and getattr(user, "pk", None) is not None:
        return {"user_id": user.pk}
    return {}


class RequestLogMiddleware:
    """Outermost middleware: gives each request an id (the caller's ``X-Request-ID`` when it
    is a plausible id, a new one otherwise), puts it on every log line of the request and on
    the response, writes one access-log line per request (method, path without query string,
    route, status, duration, partner or user) and counts it for /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = getattr(settings, "ACCESS_LOG", True)
        self.quiet_paths = frozenset(getattr(settings, "ACCESS_LOG_QUIET_PATHS", ()))

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = logs.context_set(request_id=request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            route = match.route if match is not None else None
            http_request_observed(
                method=request.method, route=route, status=response.status_code, seconds=seconds
            )
            if self.enabled and not (
                response.status_code < 400 and request.path in self.quiet_paths
            ):
                self._log(request, response, seconds, route)
            return response
        finally:
            logs.context_reset(token)

    @staticmethod
    def _log(request, response, seconds, route) -> None:
        duration_ms = round(seconds * 1000, 1)
        who = _who(request)
        logs.context_update(**who)
        path = logs.safe_path(request.path)
        status = response.status_code
        level = logging.ERROR if status >= 500 else logging.INFO
        access_log.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            path,
            status,
            duration_ms,
            extra={
                "event": "http_request",
                "method": request.method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                "remote_addr": request.META.get("REMOTE_ADDR"),
            },
        )


class SecurityHeadersMiddleware:
    """Headers that Django's SecurityMiddleware does not set: ``Permissions-Policy`` (the
    browser features no page of ours uses are switched off)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        return response
