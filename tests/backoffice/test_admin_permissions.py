"""Every admin action and every admin view checks a specific permission.

These tests walk ``admin.site`` as it is registered at run time: an admin, an action or a
custom URL added later is walked too, without touching this file."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Permission
from django.core import checks
from django.test import RequestFactory
from django.urls import URLPattern, path, reverse

from config.backoffice.checks import actions_without_permission, views_without_permission
from config.backoffice.permissions import MODEL_PERMISSIONS, GuardedModelAdmin, action_permissions
from loans.choices import ApplicationStatus as S
from loans.models import ApplicationEvent, CreditLine, Decision, LedgerEntry, LoanApplication, Repayment

from .conftest import database_state, staff

pytestmark = pytest.mark.django_db


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def declared_actions(model_admin):
    """Every action the admin declares, before any filtering by user."""
    names = [*dict(admin.site.actions), *(model_admin.actions or ())]
    return [a for a in (model_admin.get_action(name) for name in names) if a is not None]


def request_as(user, path="/admin/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def permissions_for(model, names):
    """The Permission rows behind an action's allowed_permissions."""
    opts = model._meta
    codenames = [get_permission_codename(n, opts) if n in MODEL_PERMISSIONS else n for n in names]
    return list(Permission.objects.filter(content_type__app_label=opts.app_label, codename__in=codenames))


def admin_urls(model_admin, obj):
    """(name, url) of every named URL the admin serves (the standard five and every
    custom one from get_urls), filled in with a real object's primary key."""
    for pattern in model_admin.get_urls():
        if not isinstance(pattern, URLPattern) or not pattern.name:
            continue
        kwargs = {name: obj.pk for name in pattern.pattern.converters}
        yield pattern.name, reverse(f"admin:{pattern.name}", kwargs=kwargs)


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_every_admin_action_names_a_specific_permission():
    # when the registry is walked
    missing = [f"{type(ma).__name__}.{name}" for ma, name in actions_without_permission()]
    unguarded = [f"{type(ma).__name__}: {name}" for ma, name in views_without_permission()]
    # then every action names a permission beyond "view", so does every custom view, and
    # manage.py check agrees
    assert missing == []
    assert unguarded == []
    assert [e for e in checks.run_checks(tags=[checks.Tags.admin]) if e.id.startswith("backoffice.")] == []


def test_the_system_check_reports_an_action_or_view_that_names_no_permission(admin_user):
    # given a site with an admin whose action names no permission, and a custom view
    # mounted without naming one
    site = admin.AdminSite(name="scratch")

    @admin.action(description="Do it")
    def do_it(modeladmin, request, queryset):
        pass

    class CarelessAdmin(GuardedModelAdmin):
        actions = [do_it]

        def get_urls(self):
            return [path("<int:pk>/do-it/", self.admin_site.admin_view(self.changelist_view), name="do_it"), *super().get_urls()]

    site.register(LedgerEntry, CarelessAdmin)
    # then the walk finds both, and the guard never offers the action, not even to a superuser
    assert [(type(ma).__name__, name) for ma, name in actions_without_permission(site)] == [("CarelessAdmin", "do_it")]
    assert [(type(ma).__name__, name) for ma, name in views_without_permission(site)] == [("CarelessAdmin", "do_it")]
    assert "do_it" not in site._registry[LedgerEntry].get_actions(request_as(admin_user))


def test_no_action_is_offered_or_runs_for_a_staff_user_lacking_its_permission(world, viewer, client):
    # given a staff user who may view everything and hold none of the actions' permissions
    client.force_login(viewer)
    before = database_state()
    walked = []
    for model, model_admin in registered():
        pks = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
        offered = model_admin.get_actions(request_as(viewer))
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(changelist).content.decode()
        for _func, name, _ in declared_actions(model_admin):
            walked.append(name)
            # then the action is neither offered nor shown
            assert name not in offered, f"{type(model_admin).__name__}.{name} is offered to a view-only user"
            assert f'value="{name}"' not in page, f"{type(model_admin).__name__}.{name} is shown to a view-only user"
            # and posting it anyway, on every row, runs nothing
            response = client.post(changelist, {"action": name, "_selected_action": pks, "index": 0, "select_across": 1})
            assert response.status_code in (200, 302, 403)
    assert {"submit_applications", "accept_applications", "book_applications", "freeze_lines", "unfreeze_lines", "resend",
            "run_tasks", "delete_selected"} <= set(walked)
    assert database_state() == before


def test_an_action_is_offered_to_whoever_holds_the_permission_it_names(world, django_user_model):
    # Proves the names are wired to real permissions (an action refused to everybody would
    # pass the test above too).
    for n, (model, model_admin) in enumerate(registered()):
        for func, name, _ in declared_actions(model_admin):
            perms = permissions_for(model, [*action_permissions(func), "view"])
            holder = staff(django_user_model, f"holder-{n}-{name}", perms=perms)
            if not any(getattr(model_admin, f"has_{p}_permission")(request_as(holder)) for p in action_permissions(func)):
                continue  # e.g. delete_selected on an admin that deletes nothing
            assert name in model_admin.get_actions(request_as(holder)), f"{type(model_admin).__name__}.{name}"


def test_every_admin_url_refuses_a_staff_user_without_permissions(world, nobody, client):
    # given a staff user with no permission at all
    client.force_login(nobody)
    request = request_as(nobody)
    before = database_state()
    walked = []
    for model, model_admin in registered():
        label = type(model_admin).__name__
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"add a {model._meta.label} to the world fixture so that its admin pages are walked"
        # then the model permissions all say no
        assert not model_admin.has_view_permission(request, obj), label
        assert not model_admin.has_change_permission(request, obj), label
        assert not model_admin.has_delete_permission(request, obj), label
        assert not model_admin.has_add_permission(request), label
        # and every page, standard or custom, refuses a GET and a POST
        for name, url in admin_urls(model_admin, obj):
            walked.append(name)
            assert refused(client.get(url)), f"{label}: GET {url} ({name}) is not refused"
            assert refused(client.post(url, {})), f"{label}: POST {url} ({name}) is not refused"
        # and so does the autocomplete behind each of its autocomplete fields
        for field in model_admin.autocomplete_fields:
            params = {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field, "term": "a"}
            assert client.get(reverse("admin:autocomplete"), params).status_code == 403, f"{label}.{field} autocomplete"
    assert {"loans_creditline_drawdown", "loans_loan_repayment", "loans_decision_changelist", "auth_user_password_change"} <= set(walked)
    assert database_state() == before


def test_decisions_need_the_view_permission(world, nobody, django_user_model, client):
    decision = Decision.objects.filter(application=world["referred"]).get()
    urls = [reverse("admin:loans_decision_changelist"), reverse("admin:loans_decision_change", args=[decision.pk])]
    # a staff user without the permission reads no score, PD or reason
    client.force_login(nobody)
    assert [client.get(u).status_code for u in urls] == [403, 403]
    # one with it does
    client.force_login(staff(django_user_model, "auditor", perms=permissions_for(Decision, ["view"])))
    assert [client.get(u).status_code for u in urls] == [200, 200]


def _post_action(client, model, name, objs):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": name, "_selected_action": [o.pk for o in objs], "index": 0}, follow=True)


def test_a_view_only_user_cannot_decide_accept_book_freeze_draw_or_repay(world, viewer, client):
    # given a view-only staff user and the ledger as it stands
    client.force_login(viewer)
    ledger, decisions, events = LedgerEntry.objects.count(), Decision.objects.count(), ApplicationEvent.objects.count()
    line, frozen_line, loan = world["line"], world["frozen_line"], world["loan"]
    # when they try the moves that attackers made
    _post_action(client, LoanApplication, "committee_approve", [world["referred"]])
    _post_action(client, LoanApplication, "committee_decline", [world["referred"]])
    _post_action(client, LoanApplication, "accept_applications", [world["approved"]])
    _post_action(client, LoanApplication, "book_applications", [world["accepted"]])
    _post_action(client, CreditLine, "freeze_lines", [line])
    _post_action(client, CreditLine, "unfreeze_lines", [frozen_line])
    _post_action(client, CreditLine, "close_lines", [frozen_line])
    drawdown = client.post(reverse("admin:loans_creditline_drawdown", args=[line.pk]), {"amount": "1000", "term_months": 3, "disbursed_on": str(line.opened_on)})
    repayments = Repayment.objects.count()
    repay = client.post(reverse("admin:loans_loan_repayment", args=[loan.pk]), {"amount": "10", "external_ref": "x", "received_on": str(line.opened_on)})
    # then nothing moved and the ledger records nothing
    assert [LoanApplication.objects.get(pk=world[k].pk).status for k in ("referred", "approved", "accepted")] == [S.REFERRED, S.APPROVED, S.ACCEPTED]
    assert [CreditLine.objects.get(pk=p).status for p in (line.pk, frozen_line.pk)] == ["active", "frozen"]
    assert (drawdown.status_code, repay.status_code) == (403, 403)
    assert line.loans.count() == 1 and Repayment.objects.count() == repayments
    assert (LedgerEntry.objects.count(), Decision.objects.count(), ApplicationEvent.objects.count()) == (ledger, decisions, events)
    # and the change pages offer no draw-down or repayment button
    assert "Draw down…" not in client.get(reverse("admin:loans_creditline_change", args=[line.pk])).content.decode()
    assert "Record repayment…" not in client.get(reverse("admin:loans_loan_change", args=[loan.pk])).content.decode()


def test_the_vote_permission_lets_committee_members_decide_on_the_case_page(world, viewer, django_user_model, client):
    # given three members who hold the vote right (none of them the application's maker)
    from monitoring.models import CommitteeCase

    perms = [*viewer.user_permissions.all(), *Permission.objects.filter(content_type__app_label="monitoring", codename="vote")]
    case = CommitteeCase.objects.get(application=world["referred"])
    url = reverse("admin:monitoring_committeecase_vote", args=[case.pk])
    # when each votes on the case page
    for n, choice in enumerate(["approve", "reject", "approve"]):  # with the fixture's "more info": 4 votes
        client.force_login(staff(django_user_model, f"member{n}", perms=perms))
        client.post(url, {"choice": choice, "comment": f"vote {n}"})
    # then the application is approved, and the decision names the member whose vote closed it
    decision = Decision.objects.filter(application=world["referred"], kind="committee").get()
    assert decision.decided_by.username == "member2" and decision.outcome == "approve"
    # but freezing a line still needs its own right
    _post_action(client, CreditLine, "freeze_lines", [world["line"]])
    assert CreditLine.objects.get(pk=world["line"].pk).status == "active"
