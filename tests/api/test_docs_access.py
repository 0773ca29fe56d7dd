"""/api/schema/ and /api/docs/ are public only when API_DOCS_PUBLIC is on (local, test);
production's default keeps them for partners' keys and staff logins."""

import pytest

from .conftest import client_for, issue_key

pytestmark = pytest.mark.django_db

URLS = ["/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("url", URLS)
def test_not_public_refuses_anonymous_readers(client, settings, url):
    settings.API_DOCS_PUBLIC = False
    r = client.get(url)
    assert r.status_code in (401, 403)
    assert b"/api/v1/companies/" not in r.content


@pytest.mark.parametrize("url", URLS)
def test_not_public_serves_staff(client, settings, django_user_model, url):
    settings.API_DOCS_PUBLIC = False
    client.force_login(django_user_model.objects.create_user("officer", password="x", is_staff=True))
    assert client.get(url).status_code == 200


def test_not_public_serves_the_schema_to_a_partner_key(settings, partner):
    settings.API_DOCS_PUBLIC = False
    r = client_for(issue_key(partner)).get("/api/schema/")
    assert r.status_code == 200 and b"/api/v1/companies/" in r.content


def test_not_public_refuses_a_non_staff_login(client, settings, django_user_model):
    settings.API_DOCS_PUBLIC = False
    client.force_login(django_user_model.objects.create_user("someone", password="x"))
    assert client.get("/api/schema/").status_code == 403


@pytest.mark.parametrize("url", URLS)
def test_public_serves_anyone(client, settings, url):
    settings.API_DOCS_PUBLIC = True
    assert client.get(url).status_code == 200
