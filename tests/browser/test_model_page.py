"""A risk manager opens a score model's page in Chromium, in English and in Chinese: the four
charts are drawn by the vendored Chart.js (no CSP error in the console), champion and
challenger side by side, and the challenger proposed for promotion from the page."""

import datetime

import pytest

from monitoring.models import ModelPromotion
from tests.backoffice.conftest import staff
from tests.backoffice.test_model_page import NIGHT, _monitor

from .conftest import PASSWORD, log_in

CHARTS = ("chart-model-distribution", "chart-model-psi", "chart-model-power", "chart-model-calibration")


@pytest.fixture
def risk_manager(db, django_user_model):
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(codename__in=[
        "view_scoremodel", "view_modelmonitoring", "view_modelpromotion", "propose_model_promotion", "approve_model_promotion",
    ])
    user = staff(django_user_model, "risk", perms=perms)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def monitored(db):
    from scoring import services as scoring_services
    from scoring.models import ModelStatus
    from tests.scoring.helpers import champion, person_scorecard

    champ = champion("person")
    challenger = scoring_services.score_model_set_status(
        model=scoring_services.score_model_create(subject_kind="person", scorecard=person_scorecard(), metrics={},
                                                  reference_distribution={}, trained_on={}),
        status=ModelStatus.CHALLENGER,
    )
    for i in range(14):
        day = NIGHT - datetime.timedelta(days=13 - i)
        _monitor(champ, day, psi=0.04 + 0.006 * i, role="champion")
        _monitor(challenger, day, psi=0.03, role="challenger", shadow={
            "sample": 20000, "cutoff": 600, "champion": f"v{champ.version}", "mean_score_champion": 655.2,
            "mean_score_challenger": 648.9, "both_approve": 15000, "both_decline": 3000, "swap_in": 800, "swap_out": 1200,
        })
    return champ, challenger


def _drawn(page):
    page.wait_for_function(
        "ids => window.Chart && ids.every(id => Chart.getChart(document.getElementById(id)))", arg=list(CHARTS)
    )


def test_a_risk_manager_reads_a_model_and_proposes_the_challenger(browser, live_server, risk_manager, monitored, shoot):
    champ, challenger = monitored
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "risk")
    # the sidebar's Risk models group leads to the company or person champion's page
    page.goto(f"{live_server.url}/admin/")
    page.click("text=Model health")
    page.wait_for_url(f"{live_server.url}/admin/scoring/scoremodel/{champ.pk}/monitoring/")
    _drawn(page)
    shoot(page, "model-champion-en")
    # the challenger's page, reached from the side-by-side table, proposed for promotion
    page.click(f"#bo-side-by-side a[href$='/scoremodel/{challenger.pk}/monitoring/']")
    _drawn(page)
    page.click("button[value=propose]")
    page.wait_for_selector("text=waiting for another risk manager")
    shoot(page, "model-challenger-proposed-en")
    assert ModelPromotion.objects.get(model=challenger).proposed_by == risk_manager
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    context.close()

    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "risk")
    page.goto(f"{live_server.url}/admin/scoring/scoremodel/{champ.pk}/monitoring/")
    _drawn(page)
    assert "按等级校准" in page.content()
    shoot(page, "model-champion-zh")
    context.close()
