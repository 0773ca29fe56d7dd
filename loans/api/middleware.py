"""Limits on a partner API request that are checked before anything reads it, answered in the
API's JSON error shape: a URL longer than ``API_MAX_URL_LENGTH`` (414) and a declared body
larger than ``API_MAX_BODY_BYTES`` (400, as the parser would answer; refused before Django or
DRF reads the body into memory).  Paths outside /api/ pass untouched."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from .exceptions import error_body
from .parsers import body_too_large_message, max_body_bytes

DEFAULT_MAX_URL_LENGTH = 4094  # gunicorn's default request-line limit, which answered in HTML


def max_url_length() -> int:
    return getattr(settings, "API_MAX_URL_LENGTH", DEFAULT_MAX_URL_LENGTH)


class ApiRequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            refusal = self.refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def refusal(request):
        url_length = len(request.META.get("PATH_INFO", "")) + len(request.META.get("QUERY_STRING", "")) + 1
        limit = max_url_length()
        if url_length > limit:
            return JsonResponse(
                error_body("uri_too_long", f"The URL is longer than {limit} characters; send long input in the body."),
                status=414,
            )
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_body_bytes():
            return JsonResponse(error_body("body_too_large", body_too_large_message(max_body_bytes())), status=400)
        return None
