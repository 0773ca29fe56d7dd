"""Staff two-factor login (TOTP), the enrolment page and command, session inactivity."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def code(device: TOTPDevice) -> str:
    """What the user's authenticator app shows now."""
    return str(
        totp(
            device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
        )
    ).zfill(device.digits)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("officer", password="pw-officer-1", is_staff=True)


@pytest.fixture
def enrolled(staff):
    return TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)


def login(client, username, password, token=None):
    data = {"username": username, "password": password, "next": "/admin/"}
    if token is not None:
        data["otp_token"] = token
    return client.post(LOGIN, data)


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


# --- the login form ------------------------------------------------------------------------


def test_without_a_device_and_not_required_the_password_is_enough(client, staff):
    r = login(client, "officer", "pw-officer-1")
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert logged_in(client)


def test_the_login_page_asks_for_the_code(client):
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page and "Authenticator code" in page


def test_with_a_device_the_code_is_required_and_checked(client, enrolled):
    failures = []
    user_login_failed.connect(
        lambda sender, **kw: failures.append(kw["credentials"]), weak=False, dispatch_uid="t"
    )
    try:
        # no code
        r = login(client, "officer", "pw-officer-1")
        assert r.status_code == 200 and "Enter the 6-digit code" in r.content.decode()
        assert not logged_in(client)
        # a wrong code: refused, and reported as a failed login (django-axes counts these)
        wrong = str((int(code(enrolled)) + 1) % 1_000_000).zfill(6)
        r = login(client, "officer", "pw-officer-1", wrong)
        assert r.status_code == 200 and "not right" in r.content.decode()
        assert not logged_in(client)
        assert failures and failures[-1]["username"] == "officer"
    finally:
        user_login_failed.disconnect(dispatch_uid="t")
    # the wrong code made the device wait (django-otp's throttle): let it pass for the test
    TOTPDevice.objects.filter(pk=enrolled.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    # the right code
    r = login(client, "officer", "pw-officer-1", code(enrolled))
    assert r.status_code == 302, r.content.decode()[:2000]
    assert logged_in(client)


def test_wrong_codes_are_throttled(client, enrolled):
    wrong = str((int(code(enrolled)) + 1) % 1_000_000).zfill(6)
    login(client, "officer", "pw-officer-1", wrong)
    # immediately after a failure even the right code waits
    r = login(client, "officer", "pw-officer-1", code(enrolled))
    assert r.status_code == 200 and "Too many wrong authenticator codes" in r.content.decode()
    assert not logged_in(client)


def test_a_wrong_password_is_refused_before_any_code(client, enrolled):
    r = login(client, "officer", "nope", code(enrolled))
    assert r.status_code == 200 and "correct username and password" in r.content.decode()


@pytest.mark.parametrize("group", ["Credit committee member", "Risk manager", "Administrator"])
def test_production_requires_a_device_for_the_named_roles(client, staff, settings, group):
    settings.OTP_REQUIRED = True
    staff.groups.add(Group.objects.get_or_create(name=group)[0])
    r = login(client, "officer", "pw-officer-1")
    assert r.status_code == 200 and "Ask an administrator to enrol one" in r.content.decode()
    assert not logged_in(client)
    # once enrolled, the code lets them in
    device = TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    assert login(client, "officer", "pw-officer-1", code(device)).status_code == 302
    assert logged_in(client)


def test_production_requires_a_device_for_superusers_but_not_for_other_staff(
    client, staff, settings, django_user_model
):
    settings.OTP_REQUIRED = True
    django_user_model.objects.create_superuser("root", password="pw-root-1")
    assert login(client, "root", "pw-root-1").status_code == 200
    assert not logged_in(client)
    staff.groups.add(Group.objects.get_or_create(name="Loan officer")[0])
    assert login(client, "officer", "pw-officer-1").status_code == 302
    settings.OTP_REQUIRED_GROUPS = [
        "Loan officer"
    ]  # the rule reads the group names from the setting
    client.logout()
    assert login(client, "officer", "pw-officer-1").status_code == 200


def test_an_unverified_session_of_a_required_user_is_logged_out_of_the_admin(
    client, staff, settings
):
    settings.OTP_REQUIRED = True
    staff.groups.add(Group.objects.get_or_create(name="Risk manager")[0])
    client.force_login(staff)  # e.g. a session from before the rule
    r = client.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    assert not logged_in(client)


def test_a_session_without_the_code_ends_once_the_user_has_a_device(client, staff):
    client.force_login(staff)
    assert logged_in(client)
    TOTPDevice.objects.create(
        user=staff, name="authenticator", confirmed=True
    )  # enrolled by the command
    assert not logged_in(client)


# --- enrolment -----------------------------------------------------------------------------


def test_staff_enrol_their_authenticator_on_the_setup_page(client, staff):
    client.force_login(staff)
    page = client.get("/admin/two-factor/")
    assert page.status_code == 200 and "Set up an authenticator" in page.content.decode()
    # start: a QR code and the otpauth address of a new, unconfirmed device
    page = client.post("/admin/two-factor/", {"action": "start"}).content.decode()
    pending = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert "<svg" in page and "otpauth://totp/SME%20Lending%3Aofficer?secret=" in page
    # a wrong code does not confirm it
    wrong = str((int(code(pending)) + 1) % 1_000_000).zfill(6)
    page = client.post(
        "/admin/two-factor/", {"action": "confirm", "otp_token": wrong}
    ).content.decode()
    assert "not right" in page
    TOTPDevice.objects.filter(pk=pending.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    # the right code confirms it and marks this session verified
    r = client.post("/admin/two-factor/", {"action": "confirm", "otp_token": code(pending)})
    assert r.status_code == 302
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert logged_in(client)  # still in: the session carries the device


def test_a_required_user_cannot_enrol_with_a_password_alone(client, staff, settings):
    settings.OTP_REQUIRED = True
    staff.groups.add(Group.objects.get_or_create(name="Administrator")[0])
    client.force_login(staff)
    r = client.post("/admin/two-factor/", {"action": "start"})
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_the_enrol_command_prints_the_address_and_refuses_to_replace_silently(staff, capsys):
    call_command("enrol_totp", "officer")
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed and device.config_url in out
    assert "█" in out or "▀" in out or "▄" in out  # the terminal QR code
    with pytest.raises(CommandError, match="--replace"):
        call_command("enrol_totp", "officer")
    call_command("enrol_totp", "officer", "--replace", "--no-qr")
    assert TOTPDevice.objects.get(user=staff).pk != device.pk
    with pytest.raises(CommandError):
        call_command("enrol_totp", "nobody")


# --- sessions ------------------------------------------------------------------------------


def test_sessions_expire_after_inactivity_and_each_request_extends_them(client, staff, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    client.force_login(staff)
    session = Session.objects.get()
    # when 25 idle minutes have passed, a request moves the expiry 30 minutes ahead again
    Session.objects.filter(pk=session.pk).update(
        expire_date=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert logged_in(client)
    expiry = Session.objects.get().expire_date
    assert expiry > timezone.now() + datetime.timedelta(minutes=29)
    # when more than 30 idle minutes have passed, the session is gone
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    r = client.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
