"""The published contract (/api/schema/) and its Swagger UI (/api/docs/).

Public when ``API_DOCS_PUBLIC`` is on (local and test); otherwise (production's default) only
for a partner's API key or a staff login: the schema maps every endpoint and field, which an
outsider has no need to read.  Decided per request, so the setting needs no URL reload.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import authentication, permissions

from .authentication import PartnerAPIKeyAuthentication, PartnerPrincipal


class DocsAccess(permissions.BasePermission):
    def has_permission(self, request, view):
        if settings.API_DOCS_PUBLIC:
            return True
        user = getattr(request, "user", None)
        return isinstance(user, PartnerPrincipal) or bool(user is not None and user.is_active and user.is_staff)


_ACCESS = {
    "authentication_classes": [PartnerAPIKeyAuthentication, authentication.SessionAuthentication],
    "permission_classes": [DocsAccess],
}

schema_view = SpectacularAPIView.as_view(**_ACCESS)
# The split view serves Swagger UI's start-up script as a file: no inline script, so the
# Content Security Policy (settings: CONTENT_SECURITY_POLICY) holds on this page too.
docs_view = SpectacularSwaggerSplitView.as_view(url_name="partner_api:schema", **_ACCESS)
