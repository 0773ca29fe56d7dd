"""The history view of every back-office admin (``GuardedModelAdmin`` builds on this).

For a model with a ``History`` the admin's "History" button shows django-simple-history's
list of versions, each with who, when and which fields changed; for any other model it is
Django's own action log.  Both need the view permission of the model (``permission_view``
comes from ``PermissionGuard``).  Reverting a version from the admin is off: it would skip the services that lock rows, validate and write the
ledger, so a historical version is shown read-only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin


def is_tracked(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


class HistoryAdmin(SimpleHistoryAdmin):
    def get_urls(self):
        # ModelAdmin's URLs, then the version view mounted with the view permission (the
        # library mounts it with admin_view alone).
        urls = super(SimpleHistoryAdmin, self).get_urls()
        if not is_tracked(self.model):
            return urls
        opts = self.model._meta
        version = path(
            "<path:object_id>/history/<str:version_id>/",
            self.permission_view(self.history_form_view, f"{opts.app_label}.view_{opts.model_name}"),
            name=f"{opts.app_label}_{opts.model_name}_simple_history",
        )
        return [version, *urls]

    def history_view(self, request, object_id, extra_context=None):
        if not is_tracked(self.model):
            return super(SimpleHistoryAdmin, self).history_view(request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":  # no revert: see the module docstring
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True
