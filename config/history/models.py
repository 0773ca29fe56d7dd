"""Roles: the history of each group's permissions (``auth.Group`` is Django's, so its history
model lives here)."""

import simple_history
from django.contrib.auth.models import Group

from .records import History

if not hasattr(Group, "history"):
    simple_history.register(Group, app="config.history", records_class=History, m2m_fields=["permissions"])
