"""A JSON parser with a body-size limit, so an oversized body is a 400 in our error shape
(DRF reads the raw stream, which Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not guard)."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

DEFAULT_MAX_BODY_BYTES = 256 * 1024


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


class BodyTooLarge(ParseError):
    default_code = "body_too_large"


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        result = super().parse(io.BytesIO(data), media_type, parser_context)
        return result
