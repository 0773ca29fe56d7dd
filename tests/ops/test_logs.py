"""Structured logs: a request id on every line, one access-log line per request, and no personal
data in any line.

The scan drives a representative workload — partner API registration of a company and its
people (with phones), credit data, an application, bad input, admin person pages and searches
by resident ID and by name, service calls — with the product's logging configured at DEBUG
(``LOG_LEVEL=DEBUG``, SQL logging switched on), and looks for every resident ID, phone and name
it used, in every form a log line could carry them (as is, JSON-escaped, URL-encoded)."""

import io
import json
import logging
import logging.config
from urllib.parse import quote, quote_plus

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.ops.logs import JsonFormatter, logging_config, redact
from loans.models import Person
from loans.parties.identity import normalize_phone
from loans.services.borrowers import person_get_or_create
from loans.services.groups import borrower_groups_rebuild
from tests.api.conftest import GOOD_COMPANY, GOOD_PERSON

from .conftest import company_body_with_phones

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """Everything the product's console handler writes, configured as with LOG_LEVEL=DEBUG;
    returns a function giving the lines so far.  The configuration is restored afterwards."""
    logging.config.dictConfig(logging_config(fmt=settings.LOG_FORMAT, level="DEBUG"))
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    stream = io.StringIO()
    handler.setStream(stream)
    connection.force_debug_cursor = True  # SQL would be logged if the configuration let it
    yield lambda: stream.getvalue().splitlines()
    connection.force_debug_cursor = False
    logging.config.dictConfig(settings.LOGGING)


def needle_forms(value: str) -> set[str]:
    forms = {
        value,
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return {f for f in forms if f}


def leaks(lines, secrets) -> list[tuple[str, str]]:
    needles = {form: secret for secret in secrets for form in needle_forms(secret)}
    return [(secret, line) for line in lines for form, secret in needles.items() if form in line]


def test_no_resident_id_phone_or_name_in_any_log_line(
    log_lines, api, scored_company, admin_client, django_capture_on_commit_callbacks
):
    body = company_body_with_phones()
    people = body["related_parties"]
    secrets = (
        {p["name"] for p in people}
        | {p["id_number"] for p in people}
        | {p["phone"] for p in people}
        | {normalize_phone(p["phone"]) for p in people}
    )
    with django_capture_on_commit_callbacks(execute=True):
        # partner API: registration with persons and phones, credit data, an application
        r = api.post("/api/v1/companies/", body, format="json", HTTP_X_REQUEST_ID="lb-trace-0001")
        assert r.status_code == 201, r.json()
        assert r["X-Request-ID"] == "lb-trace-0001"
        company = r.json()
        credit = {
            "as_of": timezone.localdate().isoformat(),
            "company": GOOD_COMPANY,
            "persons": [{"id_number": p["id_number"], "features": GOOD_PERSON} for p in people],
        }
        r = api.post(f"/api/v1/companies/{company['id']}/credit-data/", credit, format="json")
        assert r.status_code == 201, r.json()
        scored = scored_company()
        r = api.post(
            "/api/v1/applications/",
            {
                "company": scored["id"],
                "product": "sme-revolving",
                "amount": "200000.00",
                "term_months": 12,
            },
            format="json",
        )
        assert r.status_code == 201, r.json()
        # bad input that carries the personal data back in the request
        not_a_date = people[0]["id_number"][:10] + "13" + people[0]["id_number"][12:]  # month 13
        bad = company_body_with_phones(related_parties=[{**people[0], "id_number": not_a_date}])
        assert api.post("/api/v1/companies/", bad, format="json").status_code == 400
        dup = {**body}  # the same USCC again: refused
        assert api.post("/api/v1/companies/", dup, format="json").status_code in (400, 409)
        assert (
            api.get(f"/api/v1/companies/{people[0]['name']}/").status_code == 404
        )  # a name typed into a URL
        # a partner's id header that is a phone number
        api.get(f"/api/v1/companies/{company['id']}/", HTTP_X_REQUEST_ID=people[0]["phone"])
    # back office: person pages and searches by resident ID, by name, by phone
    person = Person.objects.get(name=people[0]["name"])
    for path in (
        "/admin/parties/person/",
        f"/admin/parties/person/{person.pk}/change/",
        f"/admin/parties/company/{company['id']}/change/",
        "/admin/parties/relatedparty/",
    ):
        assert admin_client.get(path).status_code == 200, path
    for term in (people[0]["id_number"], people[1]["name"], people[0]["phone"]):
        assert admin_client.get("/admin/parties/person/", {"q": term}).status_code == 200
    assert (
        admin_client.get("/admin/parties/relatedparty/", {"q": people[1]["name"]}).status_code == 200
    )
    # service calls
    person_get_or_create(
        name=people[1]["name"], resident_id=people[1]["id_number"], phone=people[1]["phone"]
    )
    borrower_groups_rebuild()

    lines = log_lines()
    # the capture is the real thing: JSON access-log lines with request ids, partner and user
    access = [json.loads(line) for line in lines if '"logger": "sme.access"' in line]
    assert len(access) >= 12
    assert all(a["request_id"] and a["duration_ms"] >= 0 and a["status"] for a in access)
    assert any(a.get("partner_id") for a in access) and any(a.get("user_id") for a in access)
    assert any(a["request_id"] == "lb-trace-0001" for a in access)
    assert not leaks(lines, secrets), leaks(lines, secrets)[:5]


def test_the_scan_sees_a_name_that_reaches_a_log(log_lines):
    logging.getLogger("loans").warning("person %s has id %s", "王芳", "440305198503120810")
    lines = log_lines()
    assert leaks(
        lines, {"王芳"}
    )  # names cannot be redacted by pattern: the sources must not log them
    assert not leaks(lines, {"440305198503120810"})  # resident IDs are, as a backstop


# --- request id and the access log --------------------------------------------------------


def test_a_request_id_is_kept_when_plausible_and_replaced_otherwise(client, log_lines):
    r1 = client.get("/health/?who=x", HTTP_X_REQUEST_ID="abc-123.def")
    r2 = client.get("/health/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    r3 = client.get("/health/")
    assert r1["X-Request-ID"] == "abc-123.def"
    assert r2["X-Request-ID"] not in ("", "bad id\nwith newline") and len(r2["X-Request-ID"]) == 32
    assert len(r3["X-Request-ID"]) == 32 and r3["X-Request-ID"] != r2["X-Request-ID"]


def test_one_access_line_per_request_without_the_query_string(client, settings, log_lines):
    settings.ACCESS_LOG_QUIET_PATHS = []
    client.get("/health/", {"q": "secret"}, HTTP_X_REQUEST_ID="req-42")
    client.get("/api/v1/companies/")  # 401: Django also logs a warning, with the same request id
    lines = [json.loads(line) for line in log_lines()]
    access = [x for x in lines if x["logger"] == "sme.access"]
    assert len(access) == 2
    first = access[0]
    assert first["message"].startswith("GET /health/ 200 ")
    assert (first["method"], first["path"], first["route"], first["status"]) == (
        "GET",
        "/health/",
        "health/",
        200,
    )
    assert first["request_id"] == "req-42" and first["level"] == "INFO"
    assert "secret" not in json.dumps(first)
    warning = next(x for x in lines if x["logger"] == "django.request")
    assert warning["request_id"] == access[1]["request_id"]


def test_successful_probes_are_quiet_but_failures_are_logged(client, settings, log_lines):
    settings.CELERY_BROKER_URL = ""
    client.get("/health/")
    client.get("/ready/")  # no nightly run yet: 503
    access = [json.loads(line) for line in log_lines() if '"sme.access"' in line]
    assert [(a["path"], a["status"]) for a in access] == [("/ready/", 503)]


def test_a_task_logs_with_the_request_id_of_the_request_that_started_it(log_lines):
    from config.ops import logs
    from loans.tasks import expire_offers

    token = logs.context_set(request_id="req-task-1")
    try:
        expire_offers.delay()  # in-process here; on a worker the id travels in a message header
    finally:
        logs.context_reset(token)
    trace = [json.loads(line) for line in log_lines() if '"celery.app.trace"' in line]
    assert trace and trace[0]["request_id"] == "req-task-1"
    assert trace[0]["task"] == "loans.tasks.expire_offers" and trace[0]["task_id"]


def test_a_task_sent_to_a_worker_carries_the_request_id_in_its_headers():
    from celery import signals

    from config.ops import logs

    headers = {"id": "t-1", "task": "loans.tasks.expire_offers"}
    token = logs.context_set(request_id="req-task-2")
    try:
        signals.before_task_publish.send(
            sender="loans.tasks.expire_offers", headers=headers, body=()
        )
    finally:
        logs.context_reset(token)
    assert headers["request_id"] == "req-task-2"  # the worker's task.request.request_id


def test_plain_text_for_developers_by_setting():
    config = logging_config(fmt="plain", level="INFO")
    logging.config.dictConfig(config)
    try:
        handler = logging.getLogger().handlers[0]
        stream = io.StringIO()
        handler.setStream(stream)
        logging.getLogger("sme.test").info("hello %s", "there")
        line = stream.getvalue().strip()
        assert line.endswith("INFO sme.test [None] hello there") and not line.startswith("{")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    with pytest.raises(ValueError):
        logging_config(fmt="xml", level="INFO")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id 440305198503120810 found", "id [redacted] found"),
        ("id 44030519850312081X.", "id [redacted]."),
        ("old id 440305850312081", "old id [redacted]"),
        ("call 13912345678 or +86 13912345678", "call [redacted] or +86 [redacted]"),
        ("or 8613912345678.", "or [redacted]."),
        ("身份证440305198503120810号", "身份证[redacted]号"),
        ("request 3f2a13912345678b0c9d1e2f3a4b5c6d", "request 3f2a13912345678b0c9d1e2f3a4b5c6d"),
        ("ids 23456789012 and 440305198503120", "ids 23456789012 and [redacted]"),
        ("took 0.015236937000054245 s", "took 0.015236937000054245 s"),  # a fraction, not an ID
        (
            '"GET /admin/parties/person/?q=%E7%8E%8B%E8%8A%B3 HTTP/1.1" 200 5',
            '"GET /admin/parties/person/?[redacted] HTTP/1.1" 200 5',
        ),
        (
            "DETAIL:  Key (name)=(王芳) already exists.",
            "DETAIL:  Key (name)=([redacted]) already exists.",
        ),
        (
            "DETAIL:  Failing row contains (7, 王芳, 138...).",
            "DETAIL:  Failing row contains ([redacted]).",
        ),
        (
            "loan 12345 of company 987654321 at 2026-11-30",
            "loan 12345 of company 987654321 at 2026-11-30",
        ),
    ],
)
def test_redaction_backstop(text, expected):
    assert redact(text) == expected


def test_json_lines_stay_valid_json_when_values_are_redacted(log_lines):
    logging.getLogger("sme.test").warning(
        "call %s",
        "13912345678",
        extra={"subject": 440305198503120810, "seconds": 0.015236937000054245},
    )
    (line,) = [json.loads(x) for x in log_lines() if '"sme.test"' in x]
    assert line["message"] == "call [redacted]"
    assert line["subject"] == "[redacted]" and line["seconds"] == 0.015236937000054245
