"""The partner API's JSON parser: a body-size limit, a nesting limit and text the database can
hold, so that such bodies are a 400 in our error shape rather than a failure further in.

- Size: DRF reads the raw stream, which Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not guard
  (and ``ApiRequestLimitsMiddleware`` refuses a declared Content-Length over the limit before
  anything reads the body).
- Nesting: no request of this API nests deeper than a few levels, while 1,000 levels exhaust
  Python's recursion limit in the decoder, the serializers or the idempotency fingerprint.
- Text: JSON can spell a lone UTF-16 surrogate (``"\\ud800"``), which is no character: it can
  be neither encoded as UTF-8 (the idempotency fingerprint, the database) nor stored; and
  PostgreSQL text cannot hold NUL.  Refused here, naming where they are.
"""

from __future__ import annotations

import io
import re

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

DEFAULT_MAX_BODY_BYTES = 256 * 1024
# The deepest request (credit data: body → persons → one person → features) nests 4 levels.
MAX_DEPTH = 16
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


class BodyTooLarge(ParseError):
    default_code = "body_too_large"


def body_too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(body_too_large_message(limit))
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLarge(body_too_large_message(limit))
        try:
            result = super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        check_parsed(result)
        return result


def check_parsed(value) -> None:
    """Refuse nesting beyond MAX_DEPTH and strings the database cannot store, naming the path
    in the API's one form (``related_parties[0].name``).  Iterative: it must not recurse."""
    bad: dict[str, list[str]] = {}
    stack = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                bad.setdefault(path or "non_field_errors", []).append(_unstorable_message(item))
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                if _UNSTORABLE.search(key):
                    child_path = f"{path}.<key>" if path else "<key>"
                    message = _unstorable_message(key)
                    bad.setdefault(child_path, []).append(f"A field name {message[0].lower()}{message[1:]}")
                    continue
                stack.append((child, child_path, depth + 1))
        else:
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    if bad:
        raise ValidationError(bad)


def _unstorable_message(text: str) -> str:
    if "\x00" in text:
        return "Contains a NUL character (U+0000), which is not allowed."
    return "Contains a lone surrogate (U+D800–U+DFFF), which is not a character."
