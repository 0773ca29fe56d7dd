"""A webhook endpoint's signing secret is shown in the admin once, when the endpoint is added."""

import pytest

from loans.api.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

BASE = "/admin/partner_api/webhookendpoint/"


def test_the_change_page_does_not_show_the_secret(admin_client, partner):
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in")
    body = admin_client.get(f"{BASE}{endpoint.pk}/change/").content.decode()
    assert endpoint.url in body
    assert endpoint.secret not in body


def test_the_signing_secret_is_shown_once_then_only_a_hint(admin_client, partner):
    # when an officer adds an endpoint
    r = admin_client.post(f"{BASE}add/", {"partner": partner.pk, "url": "https://hooks.example.com/in", "events": "[]", "is_active": "on"}, follow=True)
    # then the secret is generated and shown once, in the message
    assert r.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 30
    assert any(endpoint.secret in str(m) for m in r.context["messages"])
    # and never again: not on the list, the change page or its history, only a hint
    pages = {url: admin_client.get(url).content.decode() for url in (BASE, f"{BASE}{endpoint.pk}/change/", f"{BASE}{endpoint.pk}/history/")}
    for url, body in pages.items():
        assert endpoint.secret not in body, url
        assert endpoint.secret[6:-4] not in body, url
    assert f"whsec_…{endpoint.secret[-4:]}" in pages[f"{BASE}{endpoint.pk}/change/"]


def test_saving_the_change_form_keeps_the_secret(admin_client, partner):
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in")
    secret = endpoint.secret
    # when the form is saved, even with a secret smuggled in
    r = admin_client.post(f"{BASE}{endpoint.pk}/change/", {"partner": partner.pk, "url": "https://hooks.example.com/v2", "events": "[]", "secret": "whsec_mine"})
    # then the URL changes and the secret does not
    assert r.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret) == ("https://hooks.example.com/v2", secret)
