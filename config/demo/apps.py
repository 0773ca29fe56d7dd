from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data generators (``seed_demo``, ``simulate_day``, the demo logins and referrals) and
    the benchmark commands (``bench_*``).  Not installed in production (config/settings)."""

    name = "config.demo"
    label = "demo"
    verbose_name = _("Demo data")
