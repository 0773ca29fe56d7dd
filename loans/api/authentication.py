"""``Authorization: Api-Key <prefix.secret>``: the request's partner comes from its key."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from rest_framework import authentication, exceptions, permissions

from loans import rawsql
from loans.models import Partner

from .models import PartnerAPIKey
from .throttling import FailedKeyThrottle

KEYWORD = "Api-Key"

_KEY_FIELDS = tuple(f.attname for f in PartnerAPIKey._meta.concrete_fields)
_PARTNER_FIELDS = ("id", "name", "is_active")
_KEY, _PARTNER = rawsql.column_names(PartnerAPIKey), rawsql.column_names(Partner)
# Every partner request runs this: a precompiled statement (see loans/rawsql.py) for what
# ``PartnerAPIKey.objects.get_from_key`` reads — the usable key with this prefix, and its partner.
_KEY_SQL = (
    f"SELECT {rawsql.columns(PartnerAPIKey, _KEY_FIELDS, 'k')}, {rawsql.columns(Partner, _PARTNER_FIELDS, 'p')} "
    f'FROM "{PartnerAPIKey._meta.db_table}" k JOIN "{Partner._meta.db_table}" p ON p.{_PARTNER["id"]} = k.{_KEY["partner"]} '
    f"WHERE k.{_KEY['prefix']} = %s AND k.{_KEY['revoked']} = %s"
)


def _api_key(key: str) -> PartnerAPIKey:
    """The library's ``get_from_key``, its key verified by the library (which also upgrades a
    key hashed the old way), with the partner attached."""
    prefix, _, _ = key.partition(".")
    with connection.cursor() as cur:
        cur.execute(_KEY_SQL, [prefix, False])
        row = cur.fetchone()
    if row is None:
        raise PartnerAPIKey.DoesNotExist
    n = len(_KEY_FIELDS)
    api_key = rawsql.instance(PartnerAPIKey, _KEY_FIELDS, row[:n], rawsql.converters(PartnerAPIKey, _KEY_FIELDS))
    api_key.partner = rawsql.instance(Partner, _PARTNER_FIELDS, row[n:], rawsql.converters(Partner, _PARTNER_FIELDS))
    if not api_key.is_valid(key):
        raise PartnerAPIKey.DoesNotExist
    return api_key


@dataclass(frozen=True)
class PartnerPrincipal:
    """Stands in for ``request.user``: a partner is not a Django user."""

    partner_id: int
    partner_name: str
    key_prefix: str

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None

    def __str__(self) -> str:
        return f"partner:{self.partner_name}"


class PartnerAPIKeyAuthentication(authentication.BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        failures = FailedKeyThrottle(request)
        failures.refuse_if_blocked()
        key = key.strip()
        if not key or len(key) > 200 or "." not in key:
            failures.record_failure()
            raise exceptions.AuthenticationFailed("Malformed API key.")
        try:
            api_key = _api_key(key)
        except PartnerAPIKey.DoesNotExist:
            failures.record_failure()
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        # An expired key or an inactive partner is a real key, not a guess: refused, not counted.
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not api_key.partner.is_active:
            raise exceptions.AuthenticationFailed("This partner is not active.")
        principal = PartnerPrincipal(api_key.partner_id, api_key.partner.name, api_key.prefix)
        request.partner = api_key.partner
        return principal, api_key

    def authenticate_header(self, request):
        return self.keyword


class IsPartner(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(getattr(request, "user", None), PartnerPrincipal)
