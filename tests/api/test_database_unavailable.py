"""With the database unreachable, the API and the admin answer 503 with Retry-After — the API
in its JSON error shape — never a 500.  The connection is pointed at a closed port (PostgreSQL)
or at a file that cannot be opened (SQLite): a real failed connect, not a mock."""

import socket

import pytest
from django.db import connections

from .conftest import client_for, issue_key

pytestmark = pytest.mark.django_db(transaction=True)  # the connection is swapped, no test transaction


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once the socket is closed


@pytest.fixture
def database_down():
    conn = connections["default"]
    conn.ensure_connection()
    saved, saved_settings = conn.connection, dict(conn.settings_dict)

    def down():
        conn.connection = None  # the next query connects anew, to nowhere
        if conn.vendor == "postgresql":
            conn.settings_dict.update(HOST="127.0.0.1", PORT=closed_port())
        else:
            conn.settings_dict["NAME"] = "/nonexistent-directory/db.sqlite3"

    yield down
    if conn.connection is not None and conn.connection is not saved:
        conn.connection.close()
    conn.settings_dict.clear()
    conn.settings_dict.update(saved_settings)
    conn.connection = saved


def test_the_api_answers_503_with_retry_after_in_its_error_shape(partner, database_down, settings):
    client = client_for(issue_key(partner))
    assert client.get("/api/v1/companies/").status_code == 200
    # when
    database_down()
    r = client.get("/api/v1/companies/")
    # then
    assert r.status_code == 503
    assert r["Retry-After"] == str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["error"]["code"] == "service_unavailable"


def test_an_api_write_answers_503_too(partner, database_down):
    client = client_for(issue_key(partner))
    database_down()
    r = client.post("/api/v1/applications/", {"company": 1, "product": "x", "amount": "1.00", "term_months": 12},
                    format="json", HTTP_IDEMPOTENCY_KEY="during-outage")
    assert r.status_code == 503 and "Retry-After" in r


def test_the_admin_answers_503_with_retry_after(client, django_user_model, database_down):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    assert client.get("/admin/").status_code == 200
    database_down()
    # The session is saved after the view (idle timeout): its failure goes through handler500,
    # as in a real server; the test client would otherwise re-raise it instead of answering.
    client.raise_request_exception = False
    r = client.get("/admin/")
    assert r.status_code == 503 and r["Retry-After"].isdigit()
    assert b"Temporarily unavailable" in r.content
