"""The demo generator end to end: snapshots, outcomes, trained champions, everyone scored, and
holdout AUC within 0.03 of the oracle AUC (the generator's own true default probability)."""

import datetime
from io import StringIO

import pytest

from config.demo.credit import seed_scoring_demo
from scoring.models import CompanyCreditSnapshot, CreditOutcome, LatestScore, PersonCreditSnapshot, ScoreModel
from tests.scoring.population import make_population

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2025, 11, 28)


def test_seed_scoring_demo_trains_champions_close_to_the_oracle_and_scores_everyone():
    # given
    pop = make_population(n_companies=3000, seed=11)
    out = StringIO()
    # when
    seed_scoring_demo(seed=11, as_of=AS_OF, stdout=out)
    # then
    n_c, n_p = len(pop["companies"]), len(pop["persons"])
    assert PersonCreditSnapshot.objects.count() == 3 * n_p
    assert CompanyCreditSnapshot.objects.count() == 3 * n_c
    assert CreditOutcome.objects.filter(true_pd__isnull=False).count() == n_p + n_c
    for kind in ("person", "company"):
        model = ScoreModel.objects.get(subject_kind=kind, status="champion")
        gap = model.metrics["oracle_holdout"]["auc"] - model.metrics["holdout"]["auc"]
        assert gap < 0.03, (kind, model.metrics)
        assert model.metrics["cv"]["auc"] > 0.7
    assert LatestScore.objects.filter(subject_kind="person", as_of=AS_OF).count() == n_p
    assert LatestScore.objects.filter(subject_kind="company", as_of=AS_OF).count() == n_c
    assert "oracle_auc" in out.getvalue()
    # a second call for the same date adds nothing
    seed_scoring_demo(seed=11, as_of=AS_OF, stdout=out)
    assert PersonCreditSnapshot.objects.count() == 3 * n_p
