"""train_scorecard --csv on generated tables, including the bad inputs that must save nothing."""

import re

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from scoring.models import ScoreModel
from scoring.scorer import compile_scorecard, score_batch

pytestmark = pytest.mark.django_db


def make_table(n=3000, seed=5):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    bad = rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 1.5 * z)))
    return pd.DataFrame({
        "income": np.round(np.exp(9 - 0.4 * (z + rng.normal(size=n))), 0),
        "utilisation": np.clip(0.4 + 0.2 * (z + rng.normal(size=n)), 0, None),
        "housing": np.where(z + rng.normal(size=n) > 0.5, "rent", np.where(rng.random(n) < 0.5, "own", "mortgage")),
        "age": np.where(rng.random(n) < 0.1, np.nan, np.round(45 - 5 * (z + rng.normal(size=n)))),
        "status": np.where(bad, "bad", "good"),
    })


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command("train_scorecard", *args, "--folds", "3", stdout=out)
    return out.getvalue()


def test_csv_training_prints_holdout_and_cv_metrics_and_saves_a_draft(tmp_path):
    # given
    path = tmp_path / "credit.csv"
    make_table().to_csv(path, index=False)
    # when
    out = run("--csv", str(path), "--target", "status")
    # then
    aucs = [float(a) for a in re.findall(r"^auc: (0\.\d{3})", out, re.M)]
    assert len(aucs) == 2 and all(0.7 < a < 0.95 for a in aucs)
    assert len(re.findall(r"^ks: 0\.\d{3}", out, re.M)) == 2
    assert len(re.findall(r"^gini: 0\.\d{3}", out, re.M)) == 2
    assert "score distribution" in out
    model = ScoreModel.objects.get()
    assert (model.subject_kind, model.status, model.version) == ("external", "draft", 1)
    assert model.metrics["holdout"]["auc"] == pytest.approx(aucs[0], abs=5e-4)
    assert sum(model.reference_distribution["counts"]) == 3000
    housing = next(c for c in model.scorecard["characteristics"] if c["name"] == "housing")
    assert housing["kind"] == "categorical"
    # the saved scorecard runs in the runtime scorer, with unseen categories
    b = score_batch(compile_scorecard(model.scorecard),
                    {c["name"]: np.array([None] if c["kind"] == "categorical" else [np.nan], dtype=object if c["kind"] == "categorical" else float)
                     for c in model.scorecard["characteristics"]})
    assert 0 <= b.score[0] <= 950


def test_numeric_target_with_bad_value_and_promote(tmp_path):
    t = make_table()
    t["status"] = np.where(t["status"] == "bad", 2, 1)
    path = tmp_path / "credit.csv"
    t.to_csv(path, index=False)
    run("--csv", str(path), "--target", "status", "--bad-value", "2", "--promote")
    assert ScoreModel.objects.get().status == "champion"


@pytest.mark.parametrize("mutate, args, message", [
    (lambda t: t, ["--target", "outcome"], "no target column 'outcome'"),
    (lambda t: t.assign(status="good"), ["--target", "status"], "one class"),
    (lambda t: t.assign(branch="Shanghai"), ["--target", "status"], "column 'branch' is constant"),
    (lambda t: t.assign(notes=np.nan), ["--target", "status"], "column 'notes' is empty in every row"),
    (lambda t: t.assign(status=np.where(t["status"] == "bad", "x", "y")), ["--target", "status"], "pass --bad-value"),
])
def test_bad_csv_input_is_a_clear_error_and_saves_nothing(tmp_path, mutate, args, message):
    # given
    path = tmp_path / "credit.csv"
    mutate(make_table(n=600)).to_csv(path, index=False)
    # when
    with pytest.raises(CommandError) as err:
        run("--csv", str(path), *args)
    # then
    assert message in str(err.value) and "nothing saved" in str(err.value)
    assert not ScoreModel.objects.exists()


def test_dictionary_features_out_of_range_are_refused(tmp_path):
    # given: a person-feature CSV with an on-time ratio of 1.3
    rng = np.random.default_rng(1)
    t = pd.DataFrame({"ontime_ratio_24m": rng.random(400), "debt_to_income": rng.random(400),
                      "bad": rng.integers(0, 2, 400)})
    t.loc[7, "ontime_ratio_24m"] = 1.3
    path = tmp_path / "people.csv"
    t.to_csv(path, index=False)
    # when / then
    with pytest.raises(CommandError, match=r"ontime_ratio_24m: 1.3 is outside its valid range \[0, 1\]"):
        run("--csv", str(path), "--target", "bad", "--subject", "person")
    assert not ScoreModel.objects.exists()


def test_subject_training_without_history_says_so():
    with pytest.raises(CommandError, match="no person outcomes"):
        run("--subject", "person")
