from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "config.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
