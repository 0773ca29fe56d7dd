"""A score model's page: stability, power, calibration, champion beside challenger, and the
promotion moves (maker-checker), with its permissions and a pinned, bounded query count."""

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from config.backoffice import navigation
from monitoring.models import ModelMonitoring, ModelPromotion
from scoring import services as scoring_services
from scoring.models import ModelStatus, ScoreModel

from .conftest import staff

pytestmark = pytest.mark.django_db

# Pinned: session, user, permissions, the model, the PSI series, the latest row, the same
# night's champion and challengers and their rows, pending promotions, messages; whatever the
# number of nights monitored.
MAX_QUERIES = 14
NIGHT = datetime.date(2026, 10, 31)
VIEW = ["view_scoremodel", "view_modelmonitoring"]


def _perms(*codenames):
    return Permission.objects.filter(codename__in=codenames)


@pytest.fixture
def models(db):
    from tests.scoring.helpers import champion, person_scorecard

    champ = champion("person")
    challenger = scoring_services.score_model_set_status(
        model=scoring_services.score_model_create(subject_kind="person", scorecard=person_scorecard(), metrics={},
                                                  reference_distribution={}, trained_on={}),
        status=ModelStatus.CHALLENGER,
    )
    return champ, challenger


def _monitor(model, day, *, psi, role, shadow=None):
    edges = list(range(0, 960, 50))
    counts = [0] * len(edges)
    counts[12], counts[13], counts[14] = 30, 50, 20
    reference = [0] * len(edges)
    reference[12], reference[13], reference[14] = 25, 50, 25
    return ModelMonitoring.objects.create(
        as_of=day, model=model, role=role, n_scored=100, psi=psi, psi_status="warn" if psi >= 0.1 else "ok",
        score_distribution={"bin_width": 50, "edges": edges, "counts": counts, "reference": reference, "source": "sample"},
        characteristic_psi={"debt_to_income": {"psi": 0.31, "status": "alert", "counts": [1, 2]},
                            "ontime_ratio_24m": {"psi": 0.02, "status": "ok", "counts": [2, 1]}},
        auc=0.74, ks=0.38, gini=0.48, n_outcomes=1200,
        backtest=[{"month": "2026-01", "n": 600, "auc": 0.72, "ks": 0.35}, {"month": "2026-02", "n": 600, "auc": 0.74, "ks": 0.38}],
        calibration=[{"tier": "A", "n": 400, "bads": 4, "bad_rate": 0.01, "pd": 0.012},
                     {"tier": "C", "n": 300, "bads": 21, "bad_rate": 0.07, "pd": 0.05}],
        shadow=shadow or {}, messages=[],
    )


@pytest.fixture
def monitored(models):
    champ, challenger = models
    for i in range(3):
        day = NIGHT - datetime.timedelta(days=2 - i)
        _monitor(champ, day, psi=0.05 + 0.03 * i, role="champion")
        _monitor(challenger, day, psi=0.04, role="challenger", shadow={
            "sample": 20000, "cutoff": 600, "champion": f"v{champ.version}", "mean_score_champion": 655.2,
            "mean_score_challenger": 648.9, "both_approve": 15000, "both_decline": 3000, "swap_in": 800, "swap_out": 1200,
        })
    return champ, challenger


def test_the_page_shows_stability_power_calibration_and_the_side_by_side(monitored, client, django_user_model,
                                                                        django_assert_max_num_queries):
    champ, challenger = monitored
    client.force_login(staff(django_user_model, "reader", perms=_perms(*VIEW)))
    url = reverse("backoffice:model", args=[champ.pk])
    client.get(url)  # warm caches (content types)
    # when
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "model_charts.js" in html and "chart.umd.min.js" in html
    assert '<script id="model-data" type="application/json">' in html
    # no inline script (CSP): every <script> is a file or the JSON data
    for chunk in html.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head, head
    charts = json.loads(html.split('id="model-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert charts["psi"]["labels"] == ["2026-10-29", "2026-10-30", "2026-10-31"]
    assert charts["psi"]["psi"] == pytest.approx([0.05, 0.08, 0.11])
    assert charts["distribution"]["live"] == [30.0, 50.0, 20.0] and charts["distribution"]["reference"] == [25.0, 50.0, 25.0]
    assert charts["distribution"]["labels"] == ["600–649", "650–699", "700–749"]
    assert charts["power"] == {**charts["power"], "labels": ["2026-01", "2026-02"], "auc": [0.72, 0.74], "ks": [0.35, 0.38]}
    assert charts["calibration"]["bad_rate"] == [1.0, 7.0] and charts["calibration"]["pd"] == [1.2, 5.0]
    # calibration table: bad rate against PD (0.07 / 0.05 = 1.4: tier C is worse than promised)
    assert [r["ratio"] for r in response.context["page"]["calibration"]] == [0.83, 1.4]
    # champion first, then the challenger with its swap set
    columns = response.context["page"]["columns"]
    assert [c["model"].pk for c in columns] == [champ.pk, challenger.pk]
    assert columns[1]["shadow"]["swap_out"] == 1200 and 'class="bo-num swap-out">1,200<' in html
    # the characteristic that drifted first
    assert response.context["page"]["characteristics"][0][:3] == ("debt_to_income", 0.31, "alert")
    # a reader may not propose: no button
    assert 'value="propose"' not in html


def test_the_page_costs_the_same_with_more_nights(monitored, client, django_user_model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    champ, challenger = monitored
    client.force_login(staff(django_user_model, "reader", perms=_perms(*VIEW)))
    url = reverse("backoffice:model", args=[challenger.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for i in range(3, 40):
        _monitor(challenger, NIGHT - datetime.timedelta(days=i), psi=0.03, role="challenger")
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert len(response.context["page"]["series"]) == 40
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_page_needs_both_view_permissions(monitored, client, django_user_model, nobody):
    champ, _challenger = monitored
    url = reverse("backoffice:model", args=[champ.pk])
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    client.force_login(staff(django_user_model, "models_only", perms=_perms("view_scoremodel")))
    assert client.get(url).status_code == 403
    client.force_login(staff(django_user_model, "reader", perms=_perms(*VIEW)))
    assert client.get(url).status_code == 200
    assert client.get(reverse("backoffice:model", args=[987654])).status_code == 404
    # a reader's POST proposes nothing
    assert client.post(url, {"move": "propose", "model": _challenger.pk}).status_code == 403
    assert not ModelPromotion.objects.exists()


def test_promotion_from_the_page_is_maker_checker(monitored, client, django_user_model):
    champ, challenger = monitored
    rights = _perms(*VIEW, "propose_model_promotion", "approve_model_promotion")
    maker, checker = staff(django_user_model, "maker", perms=rights), staff(django_user_model, "checker", perms=rights)
    url = reverse("backoffice:model", args=[challenger.pk])
    # the maker proposes the challenger
    client.force_login(maker)
    assert 'value="propose"' in client.get(url).content.decode()
    client.post(url, {"move": "propose", "model": challenger.pk})
    proposal = ModelPromotion.objects.get(model=challenger, status="pending")
    assert proposal.proposed_by == maker and proposal.evidence["as_of"] == NIGHT.isoformat()
    # ... and may not approve it: no button, and a forged POST is refused with the reason
    html = client.get(url).content.decode()
    assert 'value="approve"' not in html and "waiting for another risk manager" in html
    response = client.post(url, {"move": "approve", "promotion": proposal.pk}, follow=True)
    assert "maker-checker" in response.content.decode()
    assert ScoreModel.objects.get(pk=challenger.pk).status == ModelStatus.CHALLENGER
    # a bad promotion id is a message, not a 500
    response = client.post(url, {"move": "approve", "promotion": "x"}, follow=True)
    assert response.status_code == 200 and "is not one" in response.content.decode()
    # the checker approves: the challenger is champion, the old one retired
    client.force_login(checker)
    assert 'value="approve"' in client.get(url).content.decode()
    client.post(url, {"move": "approve", "promotion": proposal.pk})
    assert ScoreModel.objects.get(pk=challenger.pk).status == ModelStatus.CHAMPION
    assert ScoreModel.objects.get(pk=champ.pk).status == ModelStatus.RETIRED
    assert ModelPromotion.objects.get(pk=proposal.pk).decided_by == checker


def test_a_model_never_monitored_says_what_is_missing(models, client, django_user_model):
    champ, _challenger = models
    client.force_login(staff(django_user_model, "reader", perms=_perms(*VIEW)))
    with translation.override("en"):
        response = client.get(reverse("backoffice:model", args=[champ.pk]))
    assert response.status_code == 200
    assert "No monitoring yet" in response.content.decode()
    assert response.context["page"]["charts"]["distribution"] is None


def test_the_page_speaks_chinese(monitored, client, django_user_model):
    champ, _challenger = monitored
    client.force_login(staff(django_user_model, "reader", perms=_perms(*VIEW)))
    response = client.get(reverse("backoffice:model", args=[champ.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "按等级校准" in html and "冠军模型与挑战者模型" in html


def test_reached_from_the_sidebar_and_the_model_list(monitored, client, django_user_model, rf):
    champ, _challenger = monitored
    reader = staff(django_user_model, "reader", perms=_perms(*VIEW))
    request = rf.get("/admin/")
    request.user = reader
    with translation.override("en"):
        groups = {str(g["title"]): g for g in navigation.sidebar(request)}
        pages = [(str(i["title"]), i["link"]) for i in groups["Risk models"]["items"] if i.get("page")]
    assert pages == [("Model health", reverse("backoffice:models"))]
    client.force_login(reader)
    assert client.get(reverse("backoffice:models"))["Location"] == reverse("backoffice:model", args=[champ.pk])
    html = client.get(reverse("admin:scoring_scoremodel_changelist")).content.decode()
    assert reverse("backoffice:model", args=[champ.pk]) in html
    # an officer without the model permissions sees no entry
    request.user = staff(django_user_model, "officer", perms=_perms("view_company"))
    assert not [i for g in navigation.sidebar(request) for i in g["items"] if i.get("page")]
