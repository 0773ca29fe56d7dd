"""Unauthenticated operational endpoints (load balancer, Prometheus) and the staff user's
two-factor page.  Included at the root of the URLconf, before the admin."""

from django.contrib import admin
from django.urls import path

from . import health, metrics, twofactor

urlpatterns = [
    path("health/", health.health, name="health"),
    path("ready/", health.ready, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "admin/two-factor/",
        admin.site.admin_view(twofactor.two_factor_setup),
        name="two_factor_setup",
    ),
]
