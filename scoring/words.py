"""Credit data in words: what each feature means and its unit in the reader's language, and
who sent an observation.  The pages that show snapshots (the company's and the person's page,
the snapshot lists) read them here.  The meanings themselves are written, and marked for the
catalogue, in ``scoring.features``."""

from __future__ import annotations

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

# The features' units, as a reader says them.
FEATURE_UNITS = {
    "CNY": pgettext_lazy("unit", "CNY"),
    "months": pgettext_lazy("unit", "months"),
    "days": pgettext_lazy("unit", "days"),
    "years": pgettext_lazy("unit", "years"),
    "count": pgettext_lazy("unit", "count"),
    "ratio": pgettext_lazy("unit", "ratio"),
    "level": pgettext_lazy("unit", "level"),
    "score": pgettext_lazy("unit", "score"),
}

# Who sent an observation (scoring.services: PARTNER, BUREAU, LENDER; the demo's simulation).
SOURCE_LABELS = {
    "bureau": _("Credit bureau"),
    "partner": _("Partner"),
    "lender": _("Our own book"),
    "simulated": _("Simulated"),
}


def feature_meaning(feature) -> str:
    """What a feature means, in the reader's language."""
    return gettext(feature.meaning)


def unit_label(unit: str) -> str:
    return str(FEATURE_UNITS.get(unit, unit))


def source_label(source: str) -> str:
    """``bureau`` → "Credit bureau" / "征信机构"; a source not named here as it is."""
    label = SOURCE_LABELS.get(source)
    return str(label) if label is not None else source
