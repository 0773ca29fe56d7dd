"""Per-partner rate limiting, and per-address limiting of unusable API keys.  Counts live in Django's default cache: the per-process
LocMem cache in development and tests; production sets CACHES to Redis so that every
gunicorn worker shares one count (see the README, "Errors, limits, pages").  Exceeding the rate answers 429
with ``Retry-After``."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

from config.backoffice.net import client_address


class PartnerRateThrottle(SimpleRateThrottle):
    """A window of the rate's period that opens with the partner's first request, and a count.

    DRF's ``SimpleRateThrottle`` keeps every request's timestamp of the last period in the
    cache: at a partner's full rate that is a list of up to N floats read, unpickled,
    trimmed, pickled and written back on every request, the largest cost of a cheap request.
    Here the cache holds ``(window start, count)``: O(1) whatever the rate.  A window opens
    at the first request after the previous one closed, so N requests in a row pass and the
    next one within the period answers 429, its ``Retry-After`` the time left in the window.
    Like DRF's, the read and the write are two cache operations, not one atomic one: two
    workers racing may let a request or two more through."""

    scope = "partner"

    def get_rate(self):
        # Read per request so a deployment (or a test) changes it with one setting.
        return getattr(settings, "API_THROTTLE_RATE", "1200/min")

    def get_cache_key(self, request, view):
        partner_id = getattr(request.user, "partner_id", None)
        if partner_id is None:
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": partner_id}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = self.cache.get(key)
        # A tuple: an entry in DRF's format (a list) from before a deploy starts a new window.
        if type(window) is not tuple or window[0] + self.duration <= now:
            window = (now, 0)
        started, count = window
        if count >= self.num_requests:
            self.wait_seconds = started + self.duration - now
            return False
        self.cache.set(key, (started, count + 1), started + self.duration - now)
        return True

    def wait(self):
        return self.wait_seconds


class FailedKeyThrottle:
    """Unusable API keys per client address: after ``API_KEY_FAILURE_LIMIT`` of them (unknown,
    malformed, wrong secret, revoked) within ``API_KEY_FAILURE_WINDOW`` seconds, every key
    from that address answers 429 until the window closes, so that keys cannot be guessed
    or hammered from one place.  A valid key costs one cache read; addresses elsewhere are
    untouched.  The address is ``config.backoffice.net.client_address`` (``NUM_PROXIES``).

    The window opens with an address's first failure; ``(window start, failures)`` lives
    in the default cache (Redis in production: one count for every worker).  As with the
    partner throttle, read and write are two operations, so racing workers may let a
    failure or two more through."""

    cache_format = "throttle_badkey_%s"
    timer = time.time

    def __init__(self, request):
        self.key = self.cache_format % client_address(request)
        self.limit = settings.API_KEY_FAILURE_LIMIT
        self.window = settings.API_KEY_FAILURE_WINDOW

    def _current(self, now: float) -> tuple[float, int]:
        entry = cache.get(self.key)
        if type(entry) is not tuple or entry[0] + self.window <= now:
            return now, 0
        return entry

    def refuse_if_blocked(self) -> None:
        now = self.timer()
        started, failures = self._current(now)
        if failures >= self.limit:
            raise exceptions.Throttled(
                wait=started + self.window - now,
                detail="Too many unusable API keys from this address.",
            )

    def record_failure(self) -> None:
        now = self.timer()
        started, failures = self._current(now)
        cache.set(self.key, (started, failures + 1), started + self.window - now)
