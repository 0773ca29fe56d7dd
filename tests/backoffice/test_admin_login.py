"""Admin sign-in is throttled: a username is locked from an address after repeated failures."""

import datetime

import pytest

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="right-password", is_staff=True)


def sign_in(client, password, *, username="officer", **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(officer, client, settings):
    # given thirty wrong passwords in a row
    codes = [sign_in(client, f"guess-{n}").status_code for n in range(30)]
    # when the right one comes
    response = sign_in(client, "right-password")
    # then it does not sign in, and the page says why and for how long
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302
    assert codes[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(codes[settings.AXES_FAILURE_LIMIT :]) == {429}
    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in locked" in body and "officer" in body
    assert f"after {settings.AXES_FAILURE_LIMIT} failed attempts" in body
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in body
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.seconds


def test_the_lock_holds_one_username_at_one_address(officer, client, django_user_model):
    # given the officer locked out from 10.0.0.1
    for n in range(10):
        sign_in(client, f"guess-{n}", REMOTE_ADDR="10.0.0.1")
    assert sign_in(client, "right-password", REMOTE_ADDR="10.0.0.1").status_code == 429
    # then a colleague at the same address signs in
    django_user_model.objects.create_user("colleague", password="pw-colleague", is_staff=True)
    assert sign_in(client, "pw-colleague", username="colleague", REMOTE_ADDR="10.0.0.1").status_code == 302
    client.logout()
    # and so does the officer from their own desk
    assert sign_in(client, "right-password", REMOTE_ADDR="10.0.0.2").status_code == 302
    assert signed_in(client)


def test_a_forged_forwarded_for_header_does_not_dodge_the_lock(officer, client):
    # given no trusted proxy (NUM_PROXIES=0), each guess claiming another address
    for n in range(10):
        sign_in(client, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    # then the lock is on the connecting address all the same
    assert sign_in(client, "right-password", HTTP_X_FORWARDED_FOR="203.0.113.200").status_code == 429
    assert not signed_in(client)


def test_the_lock_lifts_after_the_cool_off(officer, client, settings):
    from axes.models import AccessAttempt

    for n in range(10):
        sign_in(client, f"guess-{n}")
    assert sign_in(client, "right-password").status_code == 429
    # when the cool-off has passed since the last failure
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1))
    # then the right password signs in, and the count starts again
    assert sign_in(client, "right-password").status_code == 302
    assert signed_in(client)
