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
