"""Versions under four eyes (loans.models.four_eyes): every model that inherits the fields also
carries the named database backstops, under its own names."""

from django.apps import apps

from loans.models.four_eyes import FourEyesVersion

BACKSTOPS = ("status_valid", "maker_recorded", "active_is_published", "approver_not_proposer")


def test_every_version_under_four_eyes_carries_the_four_named_backstops():
    models = [m for m in apps.get_models() if issubclass(m, FourEyesVersion)]
    assert {m._meta.label for m in models} >= {"loans.CreditPolicy", "monitoring.WarningRule"}
    names = {}
    for model in models:
        own = {c.name for c in model._meta.constraints}
        for backstop in BACKSTOPS:
            found = [n for n in own if n.endswith(f"_{backstop}")]
            assert len(found) == 1, (model._meta.label, backstop, found)
            names[found[0]] = model._meta.label
    # one name per model and backstop: none shared between two tables
    assert len(names) == len(models) * len(BACKSTOPS)
