"""``handler403``: a refused back-office page in the admin's own look.

A user who opens an admin page they may not use (by its URL, e.g. another role's queue) gets
``templates/403.html`` inside the admin's chrome — the sidebar, the header, their name — with
the admin site's context (``admin.site.each_context``), translated, and a way back to the admin
index.  Under /api/ the answer stays JSON, like the other handlers."""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse

from loans.api.exceptions import error_body, is_api_path


def permission_denied(request, exception=None, *args, **kwargs):
    if is_api_path(request):
        return JsonResponse(error_body("permission_denied", "You do not have permission to perform this action."), status=403)
    context = {"exception": str(exception or "")}
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        context.update(admin.site.each_context(request))
    response = TemplateResponse(request, "403.html", context, status=403)
    return response.render()
