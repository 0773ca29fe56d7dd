"""Libraries' admins, re-registered so that their actions name a permission too.

Loaded after the libraries' own admin modules (``backoffice`` comes after them in
INSTALLED_APPS), it swaps their ModelAdmins for guarded subclasses."""

from functools import wraps

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from .permissions import PermissionGuard


def _needs(func, *permissions):
    """A library's action, unchanged but for the permissions it needs."""

    @wraps(func)
    def action(modeladmin, request, queryset):
        return func(modeladmin, request, queryset)

    action.allowed_permissions = permissions
    return action


def _reregister(model, admin_class):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


class PeriodicTaskAdmin(PermissionGuard, beat_admin.PeriodicTaskAdmin):
    # Switching a schedule on or off, or running it now (e.g. the nightly run), changes
    # what the system does: it needs the change permission, not just the list.
    enable_tasks = _needs(beat_admin.PeriodicTaskAdmin.enable_tasks, "change")
    disable_tasks = _needs(beat_admin.PeriodicTaskAdmin.disable_tasks, "change")
    toggle_tasks = _needs(beat_admin.PeriodicTaskAdmin.toggle_tasks, "change")
    run_tasks = _needs(beat_admin.PeriodicTaskAdmin.run_tasks, "change")


class AccessAttemptAdmin(PermissionGuard, axes_admin.AccessAttemptAdmin):
    # Cleaning up deletes attempt records (and with them lock-outs).
    cleanup_expired_attempts = _needs(axes_admin.AccessAttemptAdmin.cleanup_expired_attempts, "delete")


_reregister(PeriodicTask, PeriodicTaskAdmin)
if admin.site.is_registered(AccessAttempt):  # AXES_ENABLE_ADMIN
    _reregister(AccessAttempt, AccessAttemptAdmin)
