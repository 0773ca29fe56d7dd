"""``manage.py check`` (and so CI and every start) refuses an admin action that names no
permission, in any registered admin, ours or a library's, and a custom view of one of our
admins that is not mounted with ``permission_view``."""

from django.contrib import admin
from django.core import checks
from django.urls import URLPattern

from .permissions import PermissionGuard, declares_specific_permission

STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def actions_without_permission(site=None):
    """(model admin, action name) for every action of ``site`` that does not name a
    permission beyond "view"."""
    site = site or admin.site
    found = []
    for model_admin in site._registry.values():
        names = [*dict(site.actions), *(model_admin.actions or ())]
        for action in names:
            resolved = model_admin.get_action(action)
            if resolved is not None and not declares_specific_permission(resolved[0]):
                found.append((model_admin, resolved[1]))
    return found


@checks.register(checks.Tags.admin, checks.Tags.security)
def check_admin_actions_name_a_permission(app_configs=None, **kwargs):
    return [
        checks.Error(
            f"The admin action {name!r} of {type(model_admin).__name__} names no permission.",
            hint="Declare it with @admin.action(permissions=[...]) naming the permission it needs "
            "(a model permission or one of the model's Meta.permissions).",
            obj=type(model_admin),
            id="backoffice.E001",
        )
        for model_admin, name in actions_without_permission()
    ]


def views_without_permission(site=None):
    """(model admin, URL name) for every view that a guarded admin adds in ``get_urls``
    without ``permission_view``.  Django's own five views check the model permissions."""
    site = site or admin.site
    found = []
    for model, model_admin in site._registry.items():
        if not isinstance(model_admin, PermissionGuard):
            continue
        standard = {f"{model._meta.app_label}_{model._meta.model_name}_{view}" for view in STANDARD_VIEWS}
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name or pattern.name in standard:
                continue
            if not getattr(pattern.callback, "required_permissions", None):
                found.append((model_admin, pattern.name))
    return found


@checks.register(checks.Tags.admin, checks.Tags.security)
def check_admin_views_name_a_permission(app_configs=None, **kwargs):
    return [
        checks.Error(
            f"The admin view {name!r} of {type(model_admin).__name__} names no permission.",
            hint="Mount it in get_urls() with self.permission_view(view, 'app_label.codename', ...).",
            obj=type(model_admin),
            id="backoffice.E002",
        )
        for model_admin, name in views_without_permission()
    ]
