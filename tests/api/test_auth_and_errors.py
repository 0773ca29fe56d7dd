import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loans.api.models import PartnerAPIKey

from .conftest import client_for, company_body, issue_key

pytestmark = pytest.mark.django_db


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_no_key_is_401_in_the_error_shape(client):
    assert_error(client.get("/api/v1/companies/"), 401, "not_authenticated")


def test_wrong_key_is_401(partner):
    assert_error(client_for("abcdefgh.not-a-real-secret").get("/api/v1/companies/"), 401)


def test_revoked_key_is_401(partner):
    key = issue_key(partner)
    PartnerAPIKey.objects.filter(partner=partner).update(revoked=True)
    assert_error(client_for(key).get("/api/v1/companies/"), 401)


def test_expired_key_is_401(partner):
    key = issue_key(partner, expiry_date=timezone.now() - datetime.timedelta(minutes=1))
    assert_error(client_for(key).get("/api/v1/companies/"), 401)


def test_inactive_partner_is_401(partner):
    key = issue_key(partner)
    partner.is_active = False
    partner.save()
    assert_error(client_for(key).get("/api/v1/companies/"), 401)


def test_valid_key_lists(api):
    r = api.get("/api/v1/companies/")
    assert r.status_code == 200
    assert r.json()["results"] == []


def test_create_partner_prints_the_key_last(db, capsys):
    # when
    call_command("create_partner", "--name", "Platform X")
    # then
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert client_for(key).get("/api/v1/loans/").status_code == 200


def test_create_partner_with_expiry_and_a_second_key(db, capsys):
    call_command("create_partner", "--name", "Platform Y", "--expires-in-days", "30")
    call_command("create_partner", "--name", "Platform Y", "--existing")
    keys = PartnerAPIKey.objects.filter(partner__name="Platform Y").order_by("created")
    assert keys.count() == 2 and keys[0].expiry_date is not None and keys[1].expiry_date is None
    with pytest.raises(CommandError):
        call_command("create_partner", "--name", "Platform Y")


def test_malformed_json_is_400(api):
    r = api.post("/api/v1/companies/", data="{not json", content_type="application/json")
    assert_error(r, 400, "parse_error")


def test_non_object_body_is_400(api):
    r = api.post("/api/v1/companies/", data="[1, 2]", content_type="application/json")
    assert_error(r, 400, "validation_error")


def test_oversized_body_is_400(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    body = company_body(name="x" * 5000)
    assert_error(api.post("/api/v1/companies/", body, format="json"), 400, "body_too_large")


def test_unknown_api_path_is_json_404(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404)
    assert_error(api.get("/api/v1/companies/99999999999999999999999/"), 404)


def test_huge_id_is_404_not_500(api):
    assert_error(api.get("/api/v1/loans/999999999999999999/"), 404)


def test_throttle_answers_429_with_retry_after(api, settings):
    # given
    settings.API_THROTTLE_RATE = "3/min"
    # when
    codes = [api.get("/api/v1/loans/").status_code for _ in range(3)]
    r = api.get("/api/v1/loans/")
    # then
    assert codes == [200, 200, 200]
    assert_error(r, 429, "throttled")
    assert int(r["Retry-After"]) > 0


def test_schema_and_docs_are_served(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert b"Idempotency-Key" in r.content and b"ApiKeyAuth" in r.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content  # assets served locally


def test_admin_issues_and_revokes_keys(admin_client, partner):
    # when an officer issues a key in the admin
    r = admin_client.post("/admin/partner_api/partnerapikey/add/", {"name": "ops", "partner": partner.pk}, follow=True)
    # then it is shown once, in the message, and works
    assert r.status_code == 200
    message = " ".join(str(m) for m in r.context["messages"])
    api_key = PartnerAPIKey.objects.get(name="ops")
    key = next(word for word in message.replace(":", " ").split() if word.startswith(api_key.prefix + "."))
    key = key.rstrip(".")
    assert client_for(key).get("/api/v1/loans/").status_code == 200
    # and revoking it in the admin shuts it out
    r = admin_client.post(
        f"/admin/partner_api/partnerapikey/{api_key.pk}/change/", {"name": "ops", "partner": partner.pk, "revoked": "on"}
    )
    assert r.status_code == 302
    assert client_for(key).get("/api/v1/loans/").status_code == 401
