"""The admin's sidebar, grouped by how staff work.

:data:`NAVIGATION` declares the groups and, in each, the models by ``app_label.model_name``
with an icon (Material Symbols, shipped with the theme).  :func:`sidebar` builds unfold's
navigation from it for one request:

* a model that is not installed or not registered in the admin is skipped, so the declaration
  may name models that other branches add (alerts, post-loan actions, committee cases…);
* a model the user may not view is skipped, and so is a group left empty;
* a registered model that the declaration does not name still appears, under "Other", so
  nothing registered is ever unreachable.

Technical tables (schedules, idempotency records, scoring chunks, login records) live under
Settings, collapsed.

A work queue that is a screen rather than a model is declared by its URL name (``"admin:..."``)
and described in :data:`VIEWS`: the permission it needs and, optionally, a badge (the number of
items waiting, one COUNT query when the sidebar is drawn).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (group title, collapsed?, [(model label, item title, icon), ...])
NAVIGATION = [
    (_("Underwriting"), False, [
        ("loans.loanapplication", _("Applications"), "assignment"),
        ("loans.decision", _("Decisions"), "gavel"),
        ("parties.company", _("Companies"), "apartment"),
        ("parties.person", _("Persons"), "person"),
        ("parties.relatedparty", _("Related parties"), "groups"),
        ("loans.borrowergroup", _("Borrower groups"), "hub"),
        ("loans.collateral", _("Collateral"), "home_work"),
        ("loans.guarantee", _("Guarantees"), "verified_user"),
    ]),
    (_("Loan book"), False, [
        ("loans.creditline", _("Credit lines"), "credit_card"),
        ("loans.loan", _("Loans"), "payments"),
        ("loans.installment", _("Installments"), "event_note"),
        ("loans.repayment", _("Repayments"), "savings"),
        ("loans.ledgerentry", _("Ledger entries"), "receipt_long"),
    ]),
    (_("Monitoring"), False, [
        ("admin:monitoring_postloanaction_approvals", _("Actions waiting for me"), "approval"),
        ("monitoring.alert", _("Alerts"), "notifications_active"),
        ("monitoring.postloanaction", _("Post-loan actions"), "task_alt"),
        ("monitoring.scoringrun", _("Nightly runs"), "nights_stay"),
        ("scoring.latestscore", _("Latest scores"), "speed"),
        ("scoring.score", _("Score history"), "timeline"),
        ("scoring.companycreditsnapshot", _("Company credit data"), "domain"),
        ("scoring.personcreditsnapshot", _("Person credit data"), "badge"),
        ("monitoring.portfoliosnapshot", _("Portfolio snapshots"), "monitoring"),
        ("monitoring.modelmonitoring", _("Model monitoring"), "query_stats"),
    ]),
    (_("Committee"), False, [
        ("admin:monitoring_committeecase_queue", _("My committee queue"), "inbox"),
        ("monitoring.committeecase", _("Committee cases"), "how_to_vote"),
        ("monitoring.committeevote", _("Votes"), "thumbs_up_down"),
    ]),
    (_("Risk models"), False, [
        ("scoring.scoremodel", _("Score models"), "model_training"),
        ("page:backoffice:models", _("Model health"), "monitor_heart"),
        ("loans.creditpolicy", _("Credit policies"), "policy"),
        ("loans.loanproduct", _("Loan products"), "inventory_2"),
        ("scoring.monthlyscoresummary", _("Monthly score summaries"), "calendar_view_month"),
        ("scoring.creditoutcome", _("Credit outcomes"), "fact_check"),
        ("monitoring.warningrule", _("Warning rules"), "rule"),
        ("monitoring.actionpolicy", _("Action policy"), "alt_route"),
        ("monitoring.actionpolicychange", _("Action policy changes"), "pending_actions"),
        ("monitoring.modelpromotion", _("Model promotions"), "upgrade"),
    ]),
    (_("Partners"), False, [
        ("parties.partner", _("Partners"), "handshake"),
        ("partner_api.partnerapikey", _("Partner API keys"), "key"),
        ("partner_api.webhookendpoint", _("Webhook endpoints"), "webhook"),
        ("partner_api.webhookdelivery", _("Webhook deliveries"), "send"),
    ]),
    (_("Settings"), True, [
        ("auth.user", _("Users"), "manage_accounts"),
        ("auth.group", _("Roles"), "admin_panel_settings"),
        ("otp_totp.totpdevice", _("Authenticator devices"), "phonelink_lock"),
        ("ops.jobstatus", _("Scheduled job status"), "schedule"),
        ("django_celery_beat.periodictask", _("Periodic tasks"), "update"),
        ("django_celery_beat.crontabschedule", _("Crontab schedules"), "calendar_month"),
        ("django_celery_beat.intervalschedule", _("Interval schedules"), "timer"),
        ("django_celery_beat.clockedschedule", _("Clocked schedules"), "alarm"),
        ("django_celery_beat.solarschedule", _("Solar schedules"), "wb_sunny"),
        ("monitoring.scoringchunk", _("Scoring chunks"), "view_module"),
        ("partner_api.idempotencyrecord", _("Idempotency records"), "fingerprint"),
        ("rest_framework_api_key.apikey", _("API keys (library)"), "vpn_key"),
        ("axes.accessattempt", _("Login attempts"), "login"),
        ("axes.accesslog", _("Login log"), "history"),
        ("axes.accessfailurelog", _("Login failures"), "block"),
    ]),
]


# Screens in the sidebar: URL name -> (permission needed, badge callback or None).
VIEWS = {
    "admin:monitoring_postloanaction_approvals": ("monitoring.approve_action", "config.backoffice.navigation.badge_actions_waiting"),
    "admin:monitoring_committeecase_queue": ("monitoring.vote", "config.backoffice.navigation.badge_cases_waiting"),
}


# Pages that are not a model's list ("page:<url name>"): shown to whoever holds the
# permissions the page's permission_view demands.
PAGES = {
    "page:backoffice:models": ("scoring.view_scoremodel", "monitoring.view_modelmonitoring"),
}


def declared_labels() -> set[str]:
    return {label for _title, _collapsible, items in NAVIGATION for label, _t, _i in items if not label.startswith("admin:") and label not in PAGES}


def _badge(count: int) -> str:
    return str(count) if count else ""


def badge_actions_waiting(request) -> str:
    """Post-loan actions waiting for this risk manager's approval (not their own proposals)."""
    from django.apps import apps

    action = apps.get_model("monitoring", "PostLoanAction")
    return _badge(action.objects.filter(status="proposed").exclude(proposed_by=request.user.pk).count())


def badge_cases_waiting(request) -> str:
    """Open committee cases waiting for this member's vote (one query: the open cases with
    whether the member voted; the maker and the excluded are left out here, as in the queue)."""
    from django.apps import apps
    from django.db.models import Exists, OuterRef

    case, vote = apps.get_model("monitoring", "CommitteeCase"), apps.get_model("monitoring", "CommitteeVote")
    user = request.user
    rows = (case.objects.filter(status="open")
            .annotate(voted=Exists(vote.objects.filter(case=OuterRef("pk"), member=user.pk)))
            .values_list("maker", "excluded_user_ids", "voted"))
    return _badge(sum(1 for maker, excluded, voted in rows
                      if not voted and maker != f"user:{user.pk}" and user.pk not in (excluded or [])))


def _view_item(request, url_name, title, icon):
    permission, badge = VIEWS.get(url_name, (None, None))
    if permission is None or not request.user.has_perm(permission):
        return None
    try:
        link = reverse(url_name)
    except NoReverseMatch:
        return None
    item = {"title": title, "icon": icon, "link": link}
    if badge:
        item["badge"] = badge
    return item


def _page_item(request, label, title, icon):
    if not request.user.has_perms(PAGES[label]):
        return None
    try:
        link = reverse(label.removeprefix("page:"))
    except NoReverseMatch:
        return None
    return {"title": title, "icon": icon, "link": link, "page": True}


def _registered(site) -> dict[str, object]:
    return {f"{m._meta.app_label}.{m._meta.model_name}": ma for m, ma in site._registry.items()}


def _item(request, model_admin, title, icon):
    if not model_admin.has_module_permission(request):
        return None
    if not (model_admin.has_view_permission(request) or model_admin.has_change_permission(request)):
        return None
    opts = model_admin.model._meta
    try:
        link = reverse(f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return None
    return {"title": title or opts.verbose_name_plural.capitalize(), "icon": icon, "link": link}


def sidebar(request, site=None) -> list[dict]:
    """unfold's SIDEBAR["navigation"] for this request (see the module's docstring)."""
    site = site or admin.site
    registry = _registered(site)
    groups, seen = [], set()
    for title, collapsible, entries in NAVIGATION:
        items = []
        for label, item_title, icon in entries:
            if label.startswith("admin:") or label in PAGES:
                view = _view_item if label.startswith("admin:") else _page_item
                item = view(request, label, item_title, icon)
                if item:
                    items.append(item)
                continue
            model_admin = registry.get(label)
            if model_admin is None or label in seen:
                continue
            seen.add(label)
            item = _item(request, model_admin, item_title, icon)
            if item:
                items.append(item)
        if items:
            groups.append({"title": title, "separator": True, "collapsible": collapsible, "items": items})
    others = []
    for label in sorted(set(registry) - seen):
        item = _item(request, registry[label], None, "folder")
        if item:
            others.append(item)
    if others:
        groups.append({"title": _("Other"), "separator": True, "collapsible": True, "items": others})
    return groups


def site_subheader(request):
    return _("Back office")


def environment(request):
    """The badge in the header: which installation this is (hidden in production)."""
    from django.conf import settings

    if settings.DEBUG:
        return [_("Development"), "warning"]
    return None


def stylesheet(request):
    """The back office's additions to the theme's styles (right-aligned numbers…)."""
    from django.templatetags.static import static

    return static("backoffice/backoffice.css")


def account_links(request):
    from django.urls import reverse

    return [{"title": _("Two-factor authentication"), "link": reverse("two_factor_setup")}]


def favicon(request):
    from django.templatetags.static import static

    return static("backoffice/favicon.svg")
