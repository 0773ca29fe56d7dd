from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: health and readiness, metrics, structured logs, staff two-factor login,
    security headers and the record of periodic jobs."""

    name = "config.ops"
    label = "ops"
    verbose_name = _("Operations")

    def ready(self):
        from . import jobs  # noqa: F401 - connects the Celery task signals
