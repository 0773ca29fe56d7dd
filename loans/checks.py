"""``manage.py check``: the personal-data keys are configured so that a rotation loses nothing."""

from django.conf import settings
from django.core import checks

from .parties import identity


@checks.register(checks.Tags.security)
def check_pii_keys(app_configs=None, **kwargs):
    errors = []
    try:
        previous = identity.parse_previous_keys(settings.PII_PREVIOUS_KEYS)
    except ValueError as exc:
        return [checks.Error(str(exc), id="loans.E101")]
    if previous and not settings.PII_LOOKUP_KEY:
        errors.append(checks.Error(
            "PII_PREVIOUS_KEYS is set but PII_LOOKUP_KEY is not: the lookup hashes would change with the new master.",
            hint="Set PII_LOOKUP_KEY to the master the hashes were written with (the first PII_ENCRYPTION_KEY).",
            id="loans.E102",
        ))
    if settings.PII_KEY_VERSION in previous:
        errors.append(checks.Error(
            f"PII_PREVIOUS_KEYS names version {settings.PII_KEY_VERSION}, the current PII_KEY_VERSION.",
            hint="List only older versions there; the current master is PII_ENCRYPTION_KEY.",
            id="loans.E103",
        ))
    return errors
