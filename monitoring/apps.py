from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self):
        from loans.services import lines

        from . import protection  # noqa: F401  (connects the protective receiver)

        if protection.blocking_alert_guard not in lines.DRAWDOWN_GUARDS:
            lines.DRAWDOWN_GUARDS.append(protection.blocking_alert_guard)

        from . import committee  # noqa: F401  (opens a committee case when an application is referred)
