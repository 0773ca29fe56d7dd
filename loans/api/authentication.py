"""``Authorization: Api-Key <prefix.secret>``: the request's partner comes from its key."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions, permissions

from .models import PartnerAPIKey

KEYWORD = "Api-Key"


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
        key = key.strip()
        if not key or len(key) > 200 or "." not in key:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        try:
            api_key = PartnerAPIKey.objects.get_from_key(key)
        except PartnerAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
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
