"""Bad input is a 4xx in the API's error shape, never a 500: each case here was a server error
(a traceback) before, found by attacking the API."""

import json

import pytest
from django.db import DataError, IntegrityError

from loans.api.exceptions import api_exception_handler
from loans.models import Company, Person

from .conftest import company_body
from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/companies/", "/api/v1/applications/", "/api/v1/credit-lines/", "/api/v1/loans/",
         "/api/v1/webhook-endpoints/", "/api/v1/webhook-deliveries/"]


def post_raw(api, path, raw, **headers):
    return api.generic("POST", path, raw, content_type="application/json", **headers)


# --- duplicate related party (IntegrityError) --------------------------------------------------


def test_the_same_person_twice_in_one_role_is_400_naming_the_entry(api):
    # given the legal representative listed a second time, with the check digit in lower case
    body = company_body()
    first = body["related_parties"][0]
    body["related_parties"].append({**first, "id_number": first["id_number"].lower()})
    # when
    r = api.post("/api/v1/companies/", body, format="json")
    # then it is refused, naming the repeated entry, and nothing is saved
    error = assert_error(r, 400, "validation_error")
    assert list(error["fields"]) == ["related_parties[2].role"], error
    assert "related_parties[0]" in error["fields"]["related_parties[2].role"][0]
    assert Company.objects.count() == 0 and Person.objects.count() == 0


def test_the_same_person_in_two_roles_is_still_accepted(api):
    body = company_body()
    first = body["related_parties"][0]
    body["related_parties"].append({**first, "role": "director"})
    assert api.post("/api/v1/companies/", body, format="json").status_code == 201


def test_a_constraint_the_validation_missed_is_a_409_not_a_500():
    # The backstop: a database constraint the services did not foresee is a conflict with what is
    # stored (or a concurrent request), not a server error; a value the column cannot hold is bad input.
    conflict = api_exception_handler(IntegrityError('duplicate key value violates unique constraint "x"'), {})
    assert conflict.status_code == 409 and conflict.data["error"]["code"] == "conflict"
    assert "duplicate key" not in conflict.data["error"]["message"]  # no database detail leaks
    bad = api_exception_handler(DataError("value too long for type character varying(10)"), {})
    assert bad.status_code == 400 and bad.data["error"]["code"] == "invalid_value"


# --- cursors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS)
def test_a_crafted_cursor_is_400_naming_the_cursor(api, path):
    # "cD1hYmM=" is base64 of "p=abc": a position that is not an id (it was a ValueError, a 500)
    error = assert_error(api.get(f"{path}?cursor=cD1hYmM="), 400, "validation_error")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.parametrize("cursor", ["cD0xZTk5OTk5", "cD0tMQ==", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==", "not-base64!", "cj0xJnA9eA=="])
def test_every_kind_of_bad_cursor_is_the_same_400(api, cursor):
    # p=1e99999, p=-1, p=99999999999999999999999, not base64 (DRF's 404), r=1&p=x
    error = assert_error(api.get(f"/api/v1/loans/?cursor={cursor}"), 400, "validation_error")
    assert list(error["fields"]) == ["cursor"]


def test_a_real_cursor_still_pages(api):
    for _ in range(3):
        assert api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/h"}, format="json").status_code == 201
    page = api.get("/api/v1/webhook-endpoints/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["previous"]
    assert len(api.get(rest["previous"]).json()["results"]) == 2


@pytest.mark.parametrize("page_size", ["null", "0", "-5", "201", "99999999999999999999", "1.5"])
def test_a_page_size_outside_1_to_200_is_400_naming_it(api, page_size):
    # (DRF quietly used the default or capped it: the schema now says 1–200, and so does the server)
    error = assert_error(api.get(f"/api/v1/loans/?page_size={page_size}"), 400, "validation_error")
    assert list(error["fields"]) == ["page_size"]
    assert api.get("/api/v1/loans/?page_size=200").status_code == 200


@pytest.mark.parametrize("query", ["status=", "status=%20", "company="])
def test_a_filter_given_without_a_value_is_400_naming_it(api, query):
    error = assert_error(api.get(f"/api/v1/loans/?{query}"), 400, "validation_error")
    assert list(error["fields"]) == [query.split("=")[0]]


def test_unknown_api_paths_are_json_404s_whatever_the_method_or_characters(api):
    # (a POST was Django's CSRF page, a path with a newline Django's HTML 404)
    assert_error(api.post("/api/v1/applications/abc/accept/", {}, format="json"), 404, "not_found")
    assert_error(api.get("/api/v1/credit-lines/f%0Ax/"), 404, "not_found")


# --- nesting, size, characters ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000])
def test_deeply_nested_json_is_400(api, raw):
    # (a RecursionError, a 500)
    assert_error(post_raw(api, "/api/v1/companies/", raw), 400, "parse_error")
    assert_error(post_raw(api, "/api/v1/companies/", raw, HTTP_IDEMPOTENCY_KEY="deep-1"), 400, "parse_error")


def test_nesting_the_api_does_not_use_is_refused_before_it_reaches_the_serializers(api):
    body = company_body()
    nested: dict = {}
    for _ in range(40):
        nested = {"x": nested}
    body["related_parties"][0]["name"] = nested
    assert_error(api.post("/api/v1/companies/", body, format="json"), 400, "parse_error")


def test_a_ten_megabyte_body_is_400_in_the_api_shape(api):
    # (RequestDataTooBig, a 500: Django's own 2.5 MB guard fired before the API's parser)
    raw = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert_error(post_raw(api, "/api/v1/companies/", raw), 400, "body_too_large")


def test_a_body_just_over_the_limit_is_400_and_one_under_is_parsed(api, settings):
    settings.API_MAX_BODY_BYTES = 300 * 1024
    over = json.dumps(company_body(name="x" * (300 * 1024))).encode()
    assert_error(post_raw(api, "/api/v1/companies/", over), 400, "body_too_large")
    under = json.dumps(company_body(name="x" * (200 * 1024))).encode()
    assert_error(post_raw(api, "/api/v1/companies/", under), 400, "validation_error")  # name too long: parsed


@pytest.mark.parametrize("idempotency", [{}, {"HTTP_IDEMPOTENCY_KEY": "surrogate-1"}])
def test_a_lone_surrogate_is_400_naming_the_field(api, idempotency):
    # JSON may spell a lone surrogate ("\\ud800"); it is no character and cannot be stored or
    # hashed (a UnicodeEncodeError, a 500, with an Idempotency-Key).
    body = json.dumps(company_body(), ensure_ascii=False).replace('"name": "张伟"', '"name": "\\ud800"', 1)
    assert "\\ud800" in body
    error = assert_error(post_raw(api, "/api/v1/companies/", body, **idempotency), 400, "validation_error")
    assert list(error["fields"]) == ["related_parties[0].name"], error


def test_a_lone_surrogate_in_a_key_is_400(api):
    error = assert_error(
        post_raw(api, "/api/v1/companies/", '{"\\udc00": 1}', HTTP_IDEMPOTENCY_KEY="surrogate-2"), 400, "validation_error"
    )
    assert error["fields"]


def test_a_nul_character_is_400_naming_the_field(api):
    body = company_body()
    body["related_parties"][1]["name"] = "李\x00娜"
    error = assert_error(api.post("/api/v1/companies/", body, format="json", HTTP_IDEMPOTENCY_KEY="nul-1"), 400, "validation_error")
    assert list(error["fields"]) == ["related_parties[1].name"], error


# --- one form of field path ------------------------------------------------------------------------


def test_field_paths_have_one_form_everywhere(api, products, champions):
    # given errors from the serializers' lists, nested objects and the services
    body = company_body()
    body["related_parties"][1]["role"] = "boss"
    r = api.post("/api/v1/companies/", body, format="json")
    assert list(assert_error(r, 400)["fields"]) == ["related_parties[1].role"]
    r = api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/h", "events": ["loan.overdue", "nope"]}, format="json")
    assert list(assert_error(r, 400)["fields"]) == ["events[1]"]
    body = company_body()
    body["related_parties"][1]["id_number"] = "110101199003077777"
    r = api.post("/api/v1/companies/", body, format="json")
    assert list(assert_error(r, 400)["fields"]) == ["related_parties[1].id_number"]


# --- long URLs -------------------------------------------------------------------------------------


def test_an_over_long_api_url_is_a_json_414(api):
    r = api.get("/api/v1/loans/?status=" + "a" * 9000)
    assert_error(r, 414, "uri_too_long")


def test_an_over_long_admin_url_is_not_the_apis_business(admin_client):
    r = admin_client.get("/admin/?q=" + "a" * 9000)
    assert r.status_code == 200


# --- more of the same, found by fuzzing --------------------------------------------------------------


@pytest.mark.parametrize("query", ["company=1.5", "company=1e5", "credit_line=abc"])
def test_an_id_filter_takes_whole_numbers_only(api, query):
    # (1.5 was taken as a number and matched nothing)
    error = assert_error(api.get(f"/api/v1/loans/?{query}"), 400, "validation_error")
    assert list(error["fields"]) == [query.split("=")[0]]


def test_a_format_the_api_does_not_render_is_406(api):
    # (DRF answered 404, as if the list did not exist)
    assert_error(api.get("/api/v1/loans/?format=xml"), 406, "not_acceptable")
    assert api.get("/api/v1/loans/?format=json").status_code == 200


def test_a_webhook_endpoint_lists_each_event_once(api):
    r = api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/h", "events": ["loan.overdue"] * 3 + ["application.decided"]},
                 format="json")
    assert r.status_code == 201 and r.json()["events"] == ["loan.overdue", "application.decided"]
