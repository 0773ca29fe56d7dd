from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HistoryConfig(AppConfig):
    """Change history (issue 16): who changed what and when, for the records an auditor asks
    about (credit policy, products, lines, borrowers, partners, roles)."""

    name = "config.history"
    label = "history"
    verbose_name = _("Change history")
