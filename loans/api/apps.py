from django.apps import AppConfig


class PartnerApiConfig(AppConfig):
    name = "loans.api"
    label = "partner_api"
    verbose_name = "Partner API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers, schema  # noqa: F401  - webhook receivers; the OpenAPI auth extension
