"""The admin's theme: local assets only, / leads to the admin, navigation grouped by work."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.test import RequestFactory

from config.backoffice import navigation

EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.I)
ASSET = re.compile(r"""(?:src|href)="/static/([^"?#]+)""")
PAGES = [
    "/admin/",
    "/admin/loans/loanapplication/",
    "/admin/parties/company/",
    "/admin/parties/company/add/",
    "/admin/loans/creditpolicy/add/",
    "/admin/django_celery_beat/periodictask/add/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_reference_no_other_site(admin_client, path):
    r = admin_client.get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assets = ASSET.findall(html)
    assert any(a.startswith("unfold/") for a in assets), "the theme's assets"
    for asset in assets:  # each is served from this site's static files
        assert finders.find(asset), asset


def test_the_themes_stylesheets_import_nothing_remote():
    for asset in ("unfold/css/styles.css", "unfold/fonts/inter/styles.css", "unfold/fonts/material-symbols/styles.css"):
        css = open(finders.find(asset), encoding="utf-8").read()
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:url\()?\s*["']?https?:""", css), asset


@pytest.mark.django_db
def test_root_leads_to_the_admin(client, admin_client):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert admin_client.get("/", follow=True).status_code == 200


@pytest.mark.django_db
def test_guarded_admins_use_the_theme():
    from unfold.admin import ModelAdmin as UnfoldModelAdmin

    from config.backoffice.permissions import GuardedModelAdmin, PermissionGuard

    assert issubclass(GuardedModelAdmin, UnfoldModelAdmin)
    assert all(isinstance(ma, PermissionGuard) for m, ma in admin.site._registry.items() if m._meta.app_label in {"parties", "loans", "scoring", "monitoring", "ops"})


def _sidebar_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return navigation.sidebar(request)


@pytest.mark.django_db
def test_sidebar_groups_by_work_with_technical_tables_under_settings(admin_user):
    groups = _sidebar_for(admin_user)
    titles = [str(g["title"]) for g in groups]
    for expected in ["Underwriting", "Loan book", "Monitoring", "Risk models", "Partners", "Settings"]:
        assert expected in titles
    by_title = {str(g["title"]): g for g in groups}
    settings_links = [i["link"] for i in by_title["Settings"]["items"]]
    for technical in ["/admin/django_celery_beat/periodictask/", "/admin/partner_api/idempotencyrecord/", "/admin/monitoring/scoringchunk/", "/admin/axes/accessattempt/"]:
        assert technical in settings_links
        for title, group in by_title.items():
            if title != "Settings":
                assert technical not in [i["link"] for i in group["items"]]
    assert by_title["Settings"]["collapsible"] is True
    assert by_title["Underwriting"]["items"][0]["link"] == "/admin/loans/loanapplication/"
    # Every registered model is reachable from the sidebar exactly once; the work queues and
    # pages besides.
    links = [i["link"] for g in groups for i in g["items"] if not i.get("page")]
    queues = ["/admin/monitoring/postloanaction/approvals/", "/admin/monitoring/committeecase/queue/"]
    assert all(q in links for q in queues)
    models = [link for link in links if link not in queues]
    assert len(models) == len(set(models)) == len(admin.site._registry)


@pytest.mark.django_db
def test_sidebar_skips_models_not_installed_and_files_undeclared_ones_under_other(admin_user, monkeypatch):
    monkeypatch.setattr(navigation, "NAVIGATION", [
        ("Underwriting", False, [("nosuchapp.widget", "Widgets", "x"), ("parties.company", "Companies", "apartment")]),
        ("Committee", False, [("committee.committeecase", "Committee cases", "how_to_vote")]),
    ])
    groups = {str(g["title"]): g for g in _sidebar_for(admin_user)}
    assert [i["title"] for i in groups["Underwriting"]["items"]] == ["Companies"]
    assert "Committee" not in groups  # nothing of it installed: no empty group
    other = [i["link"] for i in groups["Other"]["items"]]
    assert "/admin/loans/loanapplication/" in other and "/admin/parties/company/" not in other


@pytest.mark.django_db
def test_sidebar_shows_only_what_the_user_may_view(django_user_model):
    officer = django_user_model.objects.create_user("officer", password="x", is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="view_company"), Permission.objects.get(codename="view_loanapplication"))
    officer = django_user_model.objects.get(pk=officer.pk)
    groups = _sidebar_for(officer)
    assert [str(g["title"]) for g in groups] == ["Underwriting"]
    assert [i["link"] for i in groups[0]["items"]] == ["/admin/loans/loanapplication/", "/admin/parties/company/"]


@pytest.mark.django_db
def test_the_demo_admin_login_and_the_port(tmp_path, monkeypatch, capsys):
    from django.core.management import call_command

    from config.demo.management.commands import demo_admin

    monkeypatch.setattr(demo_admin, "LOGIN_FILE", tmp_path / ".demo-login")
    call_command("demo_admin", port=8123)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/admin/" in out
    assert " admin " in out and "demo_users" in out  # the roles' logins are demo_users' (one table, not two)
    first = (tmp_path / ".demo-login").read_text()
    call_command("demo_admin", port=8123)  # the same logins the second time
    assert (tmp_path / ".demo-login").read_text() == first
