"""Every model names its objects: never "object (N)"."""

import pytest
from django.db import models

from config.backoffice.model_i18n import project_app_configs

pytestmark = pytest.mark.django_db


def test_every_project_model_defines_its_name():
    unnamed = [
        model._meta.label
        for app_config in project_app_configs()
        for model in app_config.get_models()
        if model.__str__ is models.Model.__str__
    ]
    assert not unnamed, f"models without __str__: {unnamed}"


def test_rows_behind_every_admin_have_names(world):
    from django.contrib import admin

    for model in admin.site._registry:
        for obj in model._default_manager.all()[:3]:
            assert "object (" not in str(obj), model._meta.label


def test_no_admin_page_shows_a_nameless_object(world, admin_client):
    """Every list and the page of a row of every admin: no "object (N)", no "score_drop on company #N"."""
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    bad = []
    for model in admin.site._registry:
        opts = model._meta
        try:
            urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        except NoReverseMatch:
            continue
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
        for url in urls:
            response = admin_client.get(url)
            if response.status_code != 200:
                continue
            html = response.content.decode()
            if "object (" in html or " on company #" in html or " on person #" in html:
                bad.append(url)
    assert not bad, bad
