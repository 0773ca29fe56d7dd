"""Roles (auth groups) in the admin, with the history of their permissions."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group

from config.backoffice.permissions import PermissionGuard

from .modeladmin import HistoryAdmin


class GroupAdmin(PermissionGuard, HistoryAdmin, auth_admin.GroupAdmin):
    """Roles, with the history of their permissions."""


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)
