from django.apps import AppConfig
from django.db.models.signals import post_migrate
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

        from .listspeed import install

        # Column headers computed once per list, not once per row (listspeed.py).
        install()

        from .roles import sync_after_migrate

        # The roles follow their declaration after every migrate (roles.py).
        post_migrate.connect(sync_after_migrate, dispatch_uid="backoffice.roles_sync")
