"""Per-partner rate limiting.  Counts live in Django's default cache: the per-process
LocMem cache in development and tests; production sets CACHES to Redis so that every
gunicorn worker shares one count (see the README, "Errors, limits, pages").  Exceeding the rate answers 429
with ``Retry-After``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PartnerRateThrottle(SimpleRateThrottle):
    scope = "partner"

    def get_rate(self):
        # Read per request so a deployment (or a test) changes it with one setting.
        return getattr(settings, "API_THROTTLE_RATE", "1200/min")

    def get_cache_key(self, request, view):
        partner_id = getattr(request.user, "partner_id", None)
        if partner_id is None:
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": partner_id}
