"""The lifecycle of an alert: who, when and why; illegal moves refused with nothing changed;
the admin offers each move to those holding its permission only, and shows subjects by name."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from loans.errors import InvalidTransition, NotFound
from monitoring.alerts import alert_acknowledge, alert_assign, alert_dismiss, alert_resolve
from monitoring.models import Alert
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="x", is_staff=True)


@pytest.fixture
def alert():
    company = CompanyFactory(legal_name="宏达机械有限公司")
    return Alert.objects.create(subject_kind="company", subject_id=company.pk, company=company, rule="below_minimum",
                                severity="high", first_seen_on=DAY, last_seen_on=DAY, old_score=740, new_score=533)


def test_acknowledge_then_resolve_records_who_when_and_why(alert, officer):
    # when
    alert_acknowledge(alert_id=alert.pk, actor=officer)
    alert_resolve(alert_id=alert.pk, actor=officer, reason="limit cut to the drawn balance")
    # then
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert (alert.acknowledged_by, alert.closed_by) == (officer, officer)
    assert alert.acknowledged_at is not None and alert.closed_at >= alert.acknowledged_at
    assert alert.close_reason == "limit cut to the drawn balance"


def test_dismiss_straight_from_open(alert, officer):
    alert_dismiss(alert_id=alert.pk, actor=officer, reason="known: data error at the bureau")
    alert.refresh_from_db()
    assert (alert.status, alert.closed_by, alert.acknowledged_by) == ("dismissed", officer, None)


@pytest.mark.parametrize("first", ["resolve", "dismiss"])
def test_a_closed_alert_cannot_move_again(alert, officer, first):
    close = alert_resolve if first == "resolve" else alert_dismiss
    close(alert_id=alert.pk, actor=officer, reason="done")
    before = Alert.objects.values().get(pk=alert.pk)
    for move in (
        lambda: alert_acknowledge(alert_id=alert.pk, actor=officer),
        lambda: alert_resolve(alert_id=alert.pk, actor=officer, reason="again"),
        lambda: alert_dismiss(alert_id=alert.pk, actor=officer, reason="again"),
        lambda: alert_assign(alert_id=alert.pk, officer_id=officer.pk, actor=officer),
    ):
        with pytest.raises(InvalidTransition) as exc:
            move()
        assert f"Alert #{alert.pk} is" in exc.value.message
    assert Alert.objects.values().get(pk=alert.pk) == before


def test_acknowledging_twice_is_refused(alert, officer):
    alert_acknowledge(alert_id=alert.pk, actor=officer)
    with pytest.raises(InvalidTransition, match="acknowledged; it cannot be acknowledged"):
        alert_acknowledge(alert_id=alert.pk, actor=officer)


def test_closing_needs_a_reason_and_a_person(alert, officer):
    with pytest.raises(ValidationError) as exc:
        alert_resolve(alert_id=alert.pk, actor=officer, reason="  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        alert_dismiss(alert_id=alert.pk, actor=None, reason="x")
    assert "actor" in exc.value.message_dict
    alert.refresh_from_db()
    assert alert.status == "open"


def test_assign_to_an_officer_and_back(alert, officer, django_user_model):
    lead = django_user_model.objects.create_user("lead", is_staff=True)
    alert_assign(alert_id=alert.pk, officer_id=officer.pk, actor=lead)
    alert.refresh_from_db()
    assert alert.assigned_to == officer
    alert_assign(alert_id=alert.pk, officer_id=None, actor=lead)
    alert.refresh_from_db()
    assert alert.assigned_to is None
    outsider = django_user_model.objects.create_user("outsider", is_staff=False)
    with pytest.raises(ValidationError) as exc:
        alert_assign(alert_id=alert.pk, officer_id=outsider.pk, actor=lead)
    assert "officer_id" in exc.value.message_dict


def test_an_unknown_alert_is_not_found(officer):
    with pytest.raises(NotFound):
        alert_acknowledge(alert_id=987654, actor=officer)


# --- admin -----------------------------------------------------------------------------------


def _staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="monitoring", codename__in=["view_alert", *codenames]))
    return django_user_model.objects.get(pk=user.pk)


def test_the_admin_lists_subjects_by_name_and_allows_no_add_or_delete(alert, client, django_user_model):
    person = PersonFactory(name="李四")
    Alert.objects.create(subject_kind="person", subject_id=person.pk, rule="score_drop", severity="info",
                         first_seen_on=DAY, last_seen_on=DAY)
    client.force_login(_staff(django_user_model, "viewer"))
    page = client.get("/admin/monitoring/alert/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "宏达机械有限公司" in body and "李四" in body
    assert f"/admin/parties/company/{alert.subject_id}/change/" in body
    assert client.get("/admin/monitoring/alert/add/").status_code == 403
    assert client.get(f"/admin/monitoring/alert/{alert.pk}/delete/").status_code == 403
    assert client.get(f"/admin/monitoring/alert/{alert.pk}/change/").status_code == 200  # read-only view


def test_an_admin_action_needs_its_own_permission_and_records_the_actor(alert, client, django_user_model):
    # given: a viewer without the resolve permission
    client.force_login(_staff(django_user_model, "viewer"))
    data = {"action": "resolve", "_selected_action": [alert.pk], "reason": "handled"}
    client.post("/admin/monitoring/alert/", data)
    alert.refresh_from_db()
    assert alert.status == "open"
    # when: someone holding it
    resolver = _staff(django_user_model, "resolver", "resolve_alert")
    client.force_login(resolver)
    client.post("/admin/monitoring/alert/", data)
    # then
    alert.refresh_from_db()
    assert (alert.status, alert.closed_by, alert.close_reason) == ("resolved", resolver, "handled")


def test_resolving_in_the_admin_without_a_reason_says_so(alert, client, django_user_model):
    client.force_login(_staff(django_user_model, "resolver", "resolve_alert"))
    page = client.post("/admin/monitoring/alert/", {"action": "resolve", "_selected_action": [alert.pk], "reason": ""}, follow=True)
    assert "Say why the alert is closed" in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == "open"


def test_the_admin_publishes_a_new_rule_version_and_refuses_a_bad_parameter(client, django_user_model):
    from monitoring.models import WarningRule

    risk = django_user_model.objects.create_user("risk", password="x", is_staff=True)
    risk.user_permissions.set(Permission.objects.filter(content_type__app_label="monitoring",
                                                        codename__in=["view_warningrule", "publish_warning_rule"]))
    client.force_login(risk)
    v1 = WarningRule.objects.get(code="dpd_over", is_active=True)
    form = {"enabled": "on", "severity": "high", "effective_from": "2026-11-02", "note": "tighter"}
    bad = client.post(f"/admin/monitoring/warningrule/{v1.pk}/change/", {**form, "params": '{"days": -5}'})
    assert bad.status_code == 200 and "days must be an integer between 0 and 3650" in bad.content.decode()
    assert WarningRule.objects.filter(code="dpd_over").count() == 1
    ok = client.post(f"/admin/monitoring/warningrule/{v1.pk}/change/", {**form, "params": '{"days": 15}'})
    assert ok.status_code == 302
    v1.refresh_from_db()
    # a proposal: v1 stays active until another person approves v2 (tests/monitoring/test_rules_maker_checker.py)
    v2 = WarningRule.objects.get(code="dpd_over", version=2)
    assert (v1.is_active, v1.params["days"], v2.status, v2.is_active, v2.params["days"], v2.created_by) == (True, 30, "proposed", False, 15, risk)
    assert client.get(f"/admin/monitoring/warningrule/{v1.pk}/delete/").status_code == 403
