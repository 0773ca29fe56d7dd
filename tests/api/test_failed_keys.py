"""Unusable API keys are throttled per client address (API_KEY_FAILURE_LIMIT in a window)."""

import datetime

import pytest
from django.utils import timezone

from .conftest import client_for, issue_key
from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db

LOANS = "/api/v1/loans/"
BAD = "abcdefgh.not-a-real-secret"


@pytest.fixture
def limit(settings):
    settings.API_KEY_FAILURE_LIMIT = 5
    settings.API_KEY_FAILURE_WINDOW = 600
    return 5


def test_bad_keys_from_one_address_are_throttled_and_others_are_not(partner, limit):
    good = issue_key(partner)
    # given five bad keys from one address
    codes = [client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.1").status_code for _ in range(limit)]
    assert codes == [401] * limit
    # when that address tries again, even with a good key
    refused = client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.1")
    also_refused = client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.1")
    # then it is told to wait, in the API's error shape
    for response in (refused, also_refused):
        error = assert_error(response, 429, "throttled")
        assert "unusable API keys" in error["message"]
        assert 0 < int(response["Retry-After"]) <= 600
    # and a partner elsewhere is not affected
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.2").status_code == 401


def test_malformed_keys_count_too(partner, limit):
    for key in ["no-dot-here", "x" * 300, "abc.", "Ü.ü"]:
        client_for(key).get(LOANS, REMOTE_ADDR="10.0.0.3")
    client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.3")
    assert_error(client_for(issue_key(partner)).get(LOANS, REMOTE_ADDR="10.0.0.3"), 429, "throttled")


def test_the_address_is_let_in_again_when_the_window_closes(partner, limit, monkeypatch):
    from loans.api.throttling import FailedKeyThrottle

    good = issue_key(partner)
    now = 1_900_000_000.0
    monkeypatch.setattr(FailedKeyThrottle, "timer", staticmethod(lambda: now))
    for _ in range(limit):
        client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.4")
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.4").status_code == 429
    # when the window has passed
    monkeypatch.setattr(FailedKeyThrottle, "timer", staticmethod(lambda: now + 600))
    # then the good key works again
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.4").status_code == 200


def test_real_keys_that_are_refused_are_not_guesses(partner, limit):
    # given a partner whose expired key is still being retried from its server
    expired = issue_key(partner, expiry_date=timezone.now() - datetime.timedelta(minutes=1))
    codes = [client_for(expired).get(LOANS, REMOTE_ADDR="10.0.0.5").status_code for _ in range(limit * 2)]
    # then each is refused, and its current key still works from there
    assert codes == [401] * (limit * 2)
    assert client_for(issue_key(partner)).get(LOANS, REMOTE_ADDR="10.0.0.5").status_code == 200


def test_the_address_comes_from_the_trusted_proxy_only(partner, limit, settings):
    good = issue_key(partner)
    # with no trusted proxy, a forged X-Forwarded-For does not dodge the count
    for n in range(limit):
        client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.6", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.6", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
    # behind one proxy, the address that proxy saw counts (the rightmost entry), not the
    # proxy's own and not what the client wrote further left
    settings.NUM_PROXIES = 1
    for n in range(limit):
        client_for(BAD).get(LOANS, REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR=f"forged-{n}, 203.0.113.1")
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert client_for(good).get(LOANS, REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
