"""OpenAPI pieces: the Api-Key security scheme, the Idempotency-Key header and the error
responses every operation may give."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .serializers import ErrorSerializer


class PartnerAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "loans.api.authentication.PartnerAPIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <prefix>.<secret>` — issued by `manage.py create_partner` or the admin.",
        }


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters, unique per request you mean to make once.  The same key with the same "
        "body returns the first response (header `Idempotent-Replayed: true`) and creates nothing new; "
        "the same key with a different body answers 422; while the first is still running, 409."
    ),
)


def _err(text: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=text)


ERRORS = {
    400: _err("Invalid input: missing fields, wrong types, bad USCC or ID numbers, malformed JSON, body too large."),
    401: _err("No, malformed, revoked or expired API key."),
    403: _err("Not allowed."),
    404: _err("Not found — or owned by another partner."),
    405: _err("Method not allowed."),
    406: _err("Not acceptable: this API answers application/json."),
    409: _err(
        "Not allowed in the current state (domain rule), in conflict with what is stored, or the same "
        "Idempotency-Key is in flight."
    ),
    414: _err("The URL is longer than the API reads (API_MAX_URL_LENGTH)."),
    415: _err("Unsupported media type: send application/json."),
    422: _err("The Idempotency-Key was already used with a different request."),
    429: _err("Too many requests for this partner; see Retry-After."),
    500: _err("Unexpected server error (logged)."),
}


def responses(ok: dict, *codes: int) -> dict:
    common = (400, 401, 403, 404, 405, 406, 414, 415, 429, 500)
    return {**ok, **{c: ERRORS[c] for c in sorted(set(common) | set(codes))}}


RETRY_AFTER = OpenApiParameter(
    name="Retry-After", type=int, location=OpenApiParameter.HEADER, response=[429],
    description="Seconds to wait before the partner's next request is accepted.",
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    name="Idempotent-Replayed", type=str, location=OpenApiParameter.HEADER, response=[200, 201],
    description="`true` when this is the stored first response to a repeated Idempotency-Key.",
)


class PartnerAutoSchema(AutoSchema):
    """Every operation documents the throttle's Retry-After; idempotent ones the replay header."""

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if any(getattr(p, "name", None) == "Idempotency-Key" for p in params):
            params.append(IDEMPOTENT_REPLAYED)
        return [*params, RETRY_AFTER]
