"""The back office's pages: the dashboard (admin home), a company's and a person's page, and
the underwriting view of an application, with their permissions, their moves and their
pinned query counts."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from loans.choices import ApplicationStatus as S
from loans.models import LoanApplication
from monitoring import dashboard

from .conftest import staff

pytestmark = pytest.mark.django_db

# Pinned: the page costs at most this many queries whatever the size of the book (session, user and
# the admin's own reads included).  A subject's page: one more for its monthly score summaries;
# the company's: two more for its actions and committee cases (the ledger names them).
MAX_QUERIES = {"dashboard": 17, "company": 23, "person": 16, "application": 13}


@pytest.fixture
def officer(django_user_model):
    perms = Permission.objects.filter(codename__startswith="view_") | Permission.objects.filter(
        codename__in=["submit_application", "accept_offer", "book_application", "withdraw_application"]
    )
    return staff(django_user_model, "officer", perms=perms)


@pytest.fixture
def as_officer(client, officer):
    client.force_login(officer)
    return client


def test_dashboard_is_the_admin_home(world, as_officer, django_assert_max_num_queries):
    # when
    with django_assert_max_num_queries(MAX_QUERIES["dashboard"]):
        response = as_officer.get(reverse("admin:index"))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="bo-dashboard"' in html and "chart.umd.min.js" in html
    charts = json.loads(response.context["dashboard_charts"] and json.dumps(response.context["dashboard_charts"]))
    assert charts["alerts"]["labels"] == ["Score drop"]  # the rule by name
    book = response.context["dashboard"]["book"]
    world["loan"].refresh_from_db()
    assert book.loans == 1 and book.outstanding == world["loan"].outstanding_principal
    assert str(book.outstanding) == str(world["loan"].outstanding_principal)  # money, 2 places
    assert response.context["dashboard"]["exposure"].lines == 2  # the active and the frozen line


def test_dashboard_figures_add_up(world):
    # given: one active loan, current
    book = dashboard.loan_book()
    # then
    assert book.m1_plus == 0 and book.m1_plus_ratio == 0
    assert sum(book.by_classification.values()) == book.outstanding
    assert dashboard.alerts_by_rule() == {"score_drop": {"info": 0, "low": 0, "medium": 0, "high": 1}}
    run = dashboard.last_nightly_run()
    assert run.status == "succeeded"


def _snapshot(day, *, outstanding, limit, m1_share, m3_share, npl, five):
    from monitoring.models import PortfolioSnapshot

    buckets = {"current": {"share": str(1 - Decimal(m1_share))}, "m1": {"share": str(Decimal(m1_share) - Decimal(m3_share))},
               "m2": {"share": "0"}, "m3": {"share": "0"}, "m3_plus": {"share": m3_share}}
    return PortfolioSnapshot.objects.create(
        as_of=day, loans_count=3, loans_outstanding_principal=Decimal(outstanding), lines_limit=Decimal(limit),
        lines_drawn=Decimal(outstanding), npl_ratio=Decimal(npl),
        tables={"five_category": {c: {"share": v} for c, v in five.items()}, "dpd_buckets": buckets,
                "vintage_curves": [[0] * 50] * 50},
    )


def test_dashboard_draws_the_trends_from_the_nightly_snapshots(world, as_officer, django_assert_num_queries):
    # given: three nights (the world's own snapshot of TODAY is replaced)
    from monitoring.models import PortfolioSnapshot

    PortfolioSnapshot.objects.all().delete()
    days = [datetime.date(2026, 3, d) for d in (1, 2, 3)]
    normal = {"normal": "0.9", "special_mention": "0.05", "substandard": "0.03", "doubtful": "0.02", "loss": "0"}
    _snapshot(days[1], outstanding="2000000.00", limit="5000000.00", m1_share="0.10", m3_share="0.02", npl="0.05", five=normal)
    _snapshot(days[0], outstanding="1000000.00", limit="4000000.00", m1_share="0.05", m3_share="0.01", npl="0.04", five=normal)
    _snapshot(days[2], outstanding="3000000.50", limit="6000000.00", m1_share="0.20", m3_share="0.04", npl="0.06", five=normal)
    # when: the trend is one query, whatever the number of nights
    with django_assert_num_queries(1):
        trend = dashboard.portfolio_trend()
    response = as_officer.get(reverse("admin:index"))
    # then: oldest first, money kept exact, shares as percentages in the charts
    assert trend.dates == days
    assert trend.outstanding == [Decimal("1000000.00"), Decimal("2000000.00"), Decimal("3000000.50")]
    assert trend.m1_plus == [Decimal("0.05"), Decimal("0.10"), Decimal("0.20")]
    charts = response.context["dashboard_charts"]
    assert charts["exposure_trend"]["labels"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert charts["exposure_trend"]["series"][0]["values"] == [4000000.0, 5000000.0, 6000000.0]
    assert charts["delinquency_trend"]["series"][1]["values"] == [1.0, 2.0, 4.0]  # M3+
    assert charts["delinquency_trend"]["series"][2]["values"] == [4.0, 5.0, 6.0]  # NPL
    assert [s["values"][0] for s in charts["five_category_trend"]["series"]] == [90.0, 5.0, 3.0, 2.0, 0.0]
    html = response.content.decode()
    assert 'data-chart="exposure_trend"' in html and 'data-chart="five_category_trend"' in html
    assert 'id="bo-no-trend"' not in html


def test_dashboard_trend_reads_a_bounded_window(world):
    from monitoring.models import PortfolioSnapshot

    PortfolioSnapshot.objects.all().delete()
    start = datetime.date(2026, 1, 1)
    PortfolioSnapshot.objects.bulk_create(
        PortfolioSnapshot(as_of=start + datetime.timedelta(days=k), loans_outstanding_principal=k) for k in range(dashboard.TREND_NIGHTS + 5)
    )
    trend = dashboard.portfolio_trend()
    assert len(trend) == dashboard.TREND_NIGHTS
    assert trend.last == start + datetime.timedelta(days=dashboard.TREND_NIGHTS + 4)
    assert trend.first == start + datetime.timedelta(days=5)


def test_dashboard_without_a_snapshot_says_so(world, as_officer):
    from monitoring.models import PortfolioSnapshot

    PortfolioSnapshot.objects.all().delete()
    response = as_officer.get(reverse("admin:index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="bo-no-trend"' in html and "No nightly portfolio snapshot yet" in html
    assert 'data-chart="exposure_trend"' not in html
    assert response.context["dashboard_charts"]["exposure_trend"]["labels"] == []


def test_dashboard_shows_the_work_waiting(world, as_officer):
    from monitoring.models import ActionStatus, CommitteeCase, PostLoanAction

    # given: the world's proposed limit cut, one action escalated, the referral's case overdue
    assert PostLoanAction.objects.filter(status=ActionStatus.PROPOSED).count() == 1
    case = CommitteeCase.objects.get(application=world["referred"])
    CommitteeCase.objects.filter(pk=case.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    # when
    response = as_officer.get(reverse("admin:index"))
    # then
    waiting = response.context["dashboard"]["waiting"]
    assert (waiting.actions_proposed, waiting.actions_pending_committee) == (1, 0)
    assert (waiting.cases_open, waiting.cases_overdue) == (1, 1)
    html = response.content.decode()
    assert reverse("admin:monitoring_postloanaction_changelist") + "?status__exact=proposed" in html
    assert reverse("admin:monitoring_committeecase_changelist") + "?status__exact=open" in html
    assert "1 overdue" in html


def test_score_distribution_against_the_reference(world):
    from scoring.models import LatestScore, ScoreModel

    ScoreModel.objects.filter(subject_kind="company", status="champion").update(
        reference_distribution={"bin_width": 20, "edges": list(range(0, 960, 20)), "counts": [0] * 35 + [10] * 5 + [0] * 8}
    )
    LatestScore.objects.create(subject_kind="company", subject_id=999, score_id=1, as_of="2025-06-30", data_as_of="2025-06-30", scored_through="2025-06-30", score=712, tier="B")
    dist = dashboard.score_distribution(width=50)
    assert dist.n == LatestScore.objects.filter(subject_kind="company").count()
    assert dist.shares[700 // 50] > 0
    assert sum(dist.reference) == pytest.approx(100)
    assert dist.reference[700 // 50] == pytest.approx(60)  # reference bins 700, 720, 740 of 700..780


def test_company_page_tells_the_story(world, as_officer, django_assert_max_num_queries):
    line = world["line"]
    url = reverse("backoffice:company", args=[line.company_id])
    with django_assert_max_num_queries(MAX_QUERIES["company"]):
        response = as_officer.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    page = response.context["page"]
    assert page["lines"][0].pk == line.pk and page["loans"][0].pk == world["loan"].pk
    assert [a.rule for a in page["alerts"]] == ["score_drop"]
    assert page["parties"][0][0].role == "legal_representative"
    assert page["ledger"], "the application, line and loan have ledger entries"
    # every subject by name, linked to its page: never "loans.creditline #1"
    assert all(e.url and "loans." not in e.subject and e.subject == e.subject.strip() for e in page["ledger"]), page["ledger"]
    loan = world["loan"]
    assert str(loan) in {e.subject for e in page["ledger"]}
    loan_url = reverse("admin:loans_loan_change", args=[loan.pk])
    assert f'href="{loan_url}">{escape(str(loan))}</a>' in html
    assert "loans.creditline #" not in html and "loans.loan #" not in html
    assert line.company.legal_name in html and "¥" in html


def test_person_page(world, as_officer, django_assert_max_num_queries):
    person = world["line"].company.related_parties.get().person
    with django_assert_max_num_queries(MAX_QUERIES["person"]):
        response = as_officer.get(reverse("backoffice:person", args=[person.pk]))
    assert response.status_code == 200
    page = response.context["page"]
    assert page["score"] is not None and page["history"]
    assert [r.company_id for r, _ in page["roles"]] == [world["line"].company_id]


def test_underwriting_view_of_a_referred_application(world, as_officer, django_assert_max_num_queries):
    app = world["referred"]
    url = reverse("backoffice:application", args=[app.pk])
    with django_assert_max_num_queries(MAX_QUERIES["application"]):
        response = as_officer.get(url)
    assert response.status_code == 200
    page = response.context["page"]
    assert [h.code for h in page["rule_hits"]] == ["REF_GREY_BAND"]
    assert "grey band" in response.content.decode()
    assert page["pricing"]["tier"] == app.tier and page["limit"]["binding"]
    # a referred application can only be withdrawn here (the committee decides the rest)
    assert [m["move"] for m in page["moves"]] == ["withdraw"]


def test_rule_hits_read_in_chinese(world, officer, client):
    client.force_login(officer)
    with translation.override("zh-hans"):
        hits = __import__("monitoring.pages", fromlist=["x"]).reasons_in_words([{"code": "C01", "points_lost": 12.5}])
    assert hits[0].text == "近12个月营业收入偏低"


def test_moves_call_the_services(world, as_officer):
    app = world["approved"]
    url = reverse("backoffice:application", args=[app.pk])
    # when: accept, then book
    as_officer.post(url, {"move": "accept"})
    response = as_officer.post(url, {"move": "book"})
    # then
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == S.BOOKED and app.credit_line.limit_amount == app.approved_limit
    assert list(app.events.values_list("to_status", "actor__username"))[-2:] == [("accepted", "officer"), ("booked", "officer")]


def test_an_illegal_move_is_a_message_not_a_500(world, as_officer):
    app = world["referred"]
    response = as_officer.post(reverse("backoffice:application", args=[app.pk]), {"move": "book"}, follow=True)
    assert response.status_code == 200
    assert "cannot go from referred to booked" in response.content.decode()
    assert LoanApplication.objects.get(pk=app.pk).status == S.REFERRED


def test_moves_need_their_permission(world, viewer, client):
    client.force_login(viewer)
    app = world["approved"]
    url = reverse("backoffice:application", args=[app.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"move": "accept"}).status_code == 403
    assert LoanApplication.objects.get(pk=app.pk).status == S.APPROVED


@pytest.mark.parametrize("name", ["company", "person", "application"])
def test_pages_need_the_view_permission(world, nobody, client, name):
    client.force_login(nobody)
    pk = {"company": world["line"].company_id, "person": world["line"].company.related_parties.get().person_id,
          "application": world["referred"].pk}[name]
    assert client.get(reverse(f"backoffice:{name}", args=[pk])).status_code == 403


def test_missing_records_are_404(as_officer):
    for name in ("company", "person", "application"):
        assert as_officer.get(reverse(f"backoffice:{name}", args=[987654])).status_code == 404


def test_company_page_costs_the_same_with_more_records(world, as_officer):
    """More parties, lines, loans and alerts: not one more query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loans.choices import Role
    from monitoring.models import Alert
    from tests.factories import PersonFactory, RelatedPartyFactory

    company = world["line"].company
    url = reverse("backoffice:company", args=[company.pk])
    as_officer.get(url)  # warm caches (content types, the active policy)
    with CaptureQueriesContext(connection) as before:
        as_officer.get(url)
    for i in range(5):
        RelatedPartyFactory(company=company, person=PersonFactory(), role=Role.DIRECTOR)
        Alert.objects.create(subject_kind="company", subject_id=company.pk, company_id=company.pk, first_seen_on=f"2025-05-{i + 1:02d}", last_seen_on=f"2025-05-{i + 1:02d}", rule=f"rule_{i}", severity="low")
    with CaptureQueriesContext(connection) as after:
        response = as_officer.get(url)
    assert len(response.context["page"]["parties"]) == 6
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_composite_names_its_parties_and_their_roles():
    from types import SimpleNamespace

    from monitoring.pages import ScoreView, _named_parties

    score = ScoreView(as_of=None, score=617, tier="D", pd=0.03, in_default=False, model_version=1, dimensions=[],
                      components={"own": {"score": 571, "weight": 0.6},
                                  "parties": [{"person_id": 334, "role": "actual_controller", "score": 684, "weight": 0.15}]},
                      reasons=[])
    parties = [SimpleNamespace(person_id=334, person=SimpleNamespace(name="孟刚娜"))]
    with translation.override("zh-hans"):
        part = _named_parties(score, parties).components["parties"][0]
        assert (part["name"], str(part["role_label"])) == ("孟刚娜", "实际控制人")
    assert score.components["parties"][0].get("name") is None  # the stored components are left as they were


def test_a_subject_page_shows_the_months_summarised_beside_the_daily_scores(world, as_officer, django_assert_max_num_queries):
    # given a month of the company's scores that retention replaced by its summary
    from scoring.models import MonthlyScoreSummary, ScoreModel
    from tests.scoring.helpers import champion

    company_id = world["line"].company_id
    model = ScoreModel.objects.filter(subject_kind="company").first() or champion("company")
    month = datetime.date(2024, 3, 1)
    MonthlyScoreSummary.objects.create(
        subject_kind="company", subject_id=company_id, month=month, model=model, model_version=model.version, scores=31,
        first_as_of=month, last_as_of=datetime.date(2024, 3, 31), last_score=688, last_tier="C", min_score=640,
        max_score=702, mean_score=671.44, created_at=timezone.now(),
    )
    # when an officer opens the company's page
    with django_assert_max_num_queries(MAX_QUERIES["company"]):
        response = as_officer.get(reverse("backoffice:company", args=[company_id]))
    # then the month is there with its figures
    assert [m.month for m in response.context["page"]["monthly"]] == [month]
    html = response.content.decode()
    assert 'id="bo-monthly"' in html and "2024-03" in html and "671.4" in html and "688" in html
