from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "config.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .model_i18n import translate_model_words

        # Model and field names in the reader's language (every model is loaded by now).
        translate_model_words()
