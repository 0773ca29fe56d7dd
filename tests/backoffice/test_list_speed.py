"""Lists at scale: no per-row queries, the theme's per-row work done once, the score list
date-first (latest night by default, never the whole table, no exact count of a night)."""

import datetime
import re

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from unfold import admin as unfold_admin
from unfold.templatetags import unfold_list

from config.backoffice import paginator as paginator_module
from config.backoffice.filters import recent_dates
from config.backoffice.listspeed import action_checkbox_html
from config.backoffice.paginator import FilteredEstimatePaginator
from scoring.models import Score

pytestmark = pytest.mark.django_db

LISTS = [
    "admin:parties_company_changelist", "admin:parties_person_changelist", "admin:loans_loanapplication_changelist",
    "admin:loans_creditline_changelist", "admin:loans_loan_changelist", "admin:monitoring_alert_changelist",
    "admin:monitoring_postloanaction_changelist", "admin:scoring_score_changelist", "admin:scoring_latestscore_changelist",
]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _more_rows(world):
    """More of every listed kind: a page that queried per row would ask more."""
    from loans.choices import ApplicationStatus
    from loans.services.lines import credit_line_draw_down
    from monitoring.actions import post_loan_action_propose
    from monitoring.models import Alert

    from .conftest import TODAY, _application

    product = world["line"].product
    for k in range(3):
        booked = _application(world["maker"], product, score=700, to=ApplicationStatus.BOOKED)
        credit_line_draw_down(credit_line_id=booked.credit_line.pk, amount="50000", term_months=3, disbursed_on=TODAY,
                              actor=world["maker"])
        post_loan_action_propose(kind="freeze_line", credit_line_id=booked.credit_line.pk, params={}, actor=world["maker"],
                                 on=TODAY)
        company = booked.company
        Alert.objects.create(subject_kind="company", subject_id=company.pk, company=company, rule="score_drop",
                             severity="medium", old_score=700, new_score=600 - k, first_seen_on=TODAY, last_seen_on=TODAY)
    base = Score.objects.order_by("-as_of").first()
    for k in range(1, 6):
        Score.objects.create(subject_kind=base.subject_kind, subject_id=base.subject_id + 1000 + k, as_of=base.as_of,
                             model=base.model, model_version=base.model_version, score=600 + k, pd=0.05, tier="D")


@pytest.mark.parametrize("name", LISTS)
def test_a_list_asks_the_same_queries_whatever_its_rows(world, admin_client, name):
    url = reverse(name)
    before = _queries(admin_client, url)
    _more_rows(world)
    assert _queries(admin_client, url) == before


def test_lists_show_fifty_rows_a_page():
    from django.contrib import admin

    from loans.models import Company

    assert admin.site._registry[Company].list_per_page == 50
    assert admin.site._registry[Score].list_per_page == 50


def test_column_headers_are_computed_once_per_list(world, admin_client):
    response = admin_client.get(reverse("admin:loans_loanapplication_changelist"))
    cl = response.context["cl"]
    first, again = list(unfold_list.result_headers(cl)), list(unfold_list.result_headers(cl))
    assert first and first[0] is again[0]  # kept on the changelist, not rebuilt per row
    assert len(first) == len(cl.list_display)
    # each cell still carries its column's label (the theme's narrow-screen layout)
    html = response.content.decode()
    assert f'data-label="{first[2]["text"]}"' in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_row_checkbox_is_the_themes(language):
    with translation.override(language):
        assert action_checkbox_html(4711) == str(unfold_admin.checkbox.render(helpers.ACTION_CHECKBOX_NAME, "4711"))


def _score(base, day, subject_id):
    return Score.objects.create(subject_kind="company", subject_id=subject_id, as_of=day, model=base.model,
                                model_version=base.model_version, score=650, pd=0.03, tier="C")


def test_the_score_list_opens_on_the_latest_night(world, admin_client):
    base = Score.objects.order_by("-as_of").first()
    latest = base.as_of + datetime.timedelta(days=2)
    older = base.as_of + datetime.timedelta(days=1)
    _score(base, older, 90001)
    _score(base, latest, 90002)
    # when: no date chosen
    response = admin_client.get(reverse("admin:scoring_score_changelist"))
    # then: the latest night only, the dates offered newest first, no "all dates"
    assert [s.subject_id for s in response.context["cl"].result_list] == [90002]
    assert recent_dates(Score, "as_of", 3)[:2] == [latest, older]
    html = response.content.decode()
    assert f"?as_of={older.isoformat()}" in html
    assert "date_hierarchy" not in html and response.context["cl"].date_hierarchy is None
    # and another night when chosen
    chosen = admin_client.get(reverse("admin:scoring_score_changelist") + f"?as_of={older.isoformat()}")
    assert [s.subject_id for s in chosen.context["cl"].result_list] == [90001]
    assert admin_client.get(reverse("admin:scoring_score_changelist") + "?as_of=yesterday").status_code in (200, 302)


@pytest.mark.postgres
def test_a_large_night_of_scores_is_estimated_not_counted(world, on_postgres, monkeypatch):
    base = Score.objects.order_by("-as_of").first()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Score._meta.db_table}")
    monkeypatch.setattr(paginator_module, "EXACT_BELOW", 1)
    night = Score.objects.filter(as_of=base.as_of).order_by("pk")
    with CaptureQueriesContext(connection) as captured:
        count = FilteredEstimatePaginator(night, 50).count
    assert count >= 1
    assert all("count(" not in q["sql"].lower() for q in captured.captured_queries)
    assert captured.captured_queries and "EXPLAIN" in captured.captured_queries[0]["sql"]
    # a small result is counted exactly
    monkeypatch.setattr(paginator_module, "EXACT_BELOW", 10**9)
    assert FilteredEstimatePaginator(night, 50).count == night.count()


@pytest.mark.postgres
@pytest.mark.parametrize(("model_name", "term", "index"), [
    ("company", "恒源物流", "company_name_trgm_idx"), ("person", "王小明", "person_name_trgm_idx"),
])
def test_name_search_can_use_the_trigram_index(on_postgres, admin_client, model_name, term, index):
    """The admin's own search SQL matches the indexed expression (loans migration 0016).  A
    term needs three characters to give trigrams: shorter ones scan."""
    from django.contrib import admin
    from django.test import RequestFactory

    from loans.models import Company, Person

    model = {"company": Company, "person": Person}[model_name]
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    qs, _dupes = model_admin.get_search_results(request, model.objects.all(), term)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # tiny test tables: make the planner show its index
        plan = qs.order_by().explain()
    assert index in plan


def test_a_list_row_costs_no_introspection_of_the_admin(world, admin_client, monkeypatch):
    """The theme's row template asks for ``cl.model_admin.list_sections``: an admin without it
    makes the template engine run dir() on the ModelAdmin, twice a row."""
    import builtins

    from django.contrib.admin import ModelAdmin
    from django.template import base as template_base

    introspected = []

    def counting_dir(obj):
        if isinstance(obj, ModelAdmin):
            introspected.append(type(obj).__name__)
        return builtins.dir(obj)

    monkeypatch.setattr(template_base, "dir", counting_dir, raising=False)
    for name in LISTS:
        assert admin_client.get(reverse(name)).status_code == 200
    assert introspected == []


def test_column_labels_are_translated_once_per_list(world, admin_client):
    """Each cell carries its column's label; a lazy label would be translated again per cell."""
    from django.utils.functional import Promise

    response = admin_client.get(reverse("admin:monitoring_alert_changelist"))
    headers = list(unfold_list.result_headers(response.context["cl"]))
    assert headers and not any(isinstance(h["text"], Promise) for h in headers)


def test_the_alert_list_sorts_the_alerts_before_it_reads_their_companies(world, admin_client):
    """Joined in the page's query, the company table was hashed whole (100,000 rows) before the
    alerts could be sorted: the page's companies are read by id after the sort."""
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse("admin:monitoring_alert_changelist"))
    assert response.status_code == 200 and response.context["cl"].result_list
    page = [q["sql"] for q in captured.captured_queries
            if 'FROM "monitoring_alert"' in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]]
    assert page and all('"loans_company"' not in sql for sql in page)
    assert any(re.search(r'FROM "loans_company" WHERE \(?"loans_company"\."id"', q["sql"]) for q in captured.captured_queries)
