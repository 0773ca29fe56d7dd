"""The runtime scorer's maths, against a plain per-row reference implementation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import scorer
from tests.scoring.helpers import SCALING, person_scorecard


def mixed_scorecard() -> dict:
    return {
        "characteristics": [
            {"name": "x", "dimension": "d1", "kind": "numeric", "edges": [0.0, 10.0],
             "points": [10.0, 50.0, 90.0], "points_missing": 30.0},
            {"name": "colour", "dimension": "d2", "kind": "categorical", "categories": [["red"], ["green", "blue"]],
             "points": [200.0, 120.0], "points_missing": 100.0, "points_unseen": 110.0},
            {"name": "y", "dimension": "d1", "kind": "numeric", "edges": [5.0],
             "points": [300.0, 100.0], "points_missing": 150.0},
            {"name": "z", "dimension": "d2", "kind": "numeric", "edges": [1.0],
             "points": [60.0, 0.0], "points_missing": 60.0},
            {"name": "w", "dimension": "d2", "kind": "numeric", "edges": [1.0],
             "points": [40.0, 35.0], "points_missing": 38.0},
        ],
        "scaling": SCALING,
    }


def reference_row(sc: dict, row: dict):
    """One subject, scored the slow obvious way."""
    pts, best = [], []
    for ch in sc["characteristics"]:
        v = row[ch["name"]]
        if ch["kind"] == "numeric":
            if v is None or (isinstance(v, float) and math.isnan(v)):
                p = ch["points_missing"]
            else:
                p = ch["points"][sum(1 for e in ch["edges"] if v >= e)]
            table = ch["points"] + [ch["points_missing"]]
        else:
            if v is None or v == "":
                p = ch["points_missing"]
            else:
                p = next((ch["points"][i] for i, g in enumerate(ch["categories"]) if v in g), ch["points_unseen"])
            table = ch["points"] + [ch["points_missing"], ch["points_unseen"]]
        pts.append(p)
        best.append(max(table))
    total = sum(pts)
    lost = [(b - p, j) for j, (b, p) in enumerate(zip(best, pts))]
    lost.sort(key=lambda t: (-t[0], t[1]))
    reasons = [j for loss, j in lost[:4] if loss > 1e-9]
    score = min(950, max(0, round(total)))
    return pts, total, score, reasons


def test_points_sum_to_the_total_and_missing_and_unseen_get_their_own_points():
    # given
    compiled = scorer.compile_scorecard(mixed_scorecard())
    features = {
        "x": np.array([-1.0, 0.0, 10.0, np.nan]),
        "colour": np.array(["red", "blue", "purple", None], dtype=object),
        "y": np.array([1.0, 5.0, np.nan, 7.0]),
        "z": np.array([0.0, 2.0, 0.0, np.nan]),
        "w": np.array([0.0, 0.0, 2.0, np.nan]),
    }
    # when
    b = scorer.score_batch(compiled, features)
    # then
    assert b.points[:, 0].tolist() == [10.0, 50.0, 90.0, 30.0]
    assert b.points[:, 1].tolist() == [200.0, 120.0, 110.0, 100.0]  # unseen 110, missing 100
    assert b.points[:, 2].tolist() == [300.0, 100.0, 150.0, 100.0]
    np.testing.assert_allclose(b.total, b.points.sum(axis=1))
    np.testing.assert_allclose(b.dimension_points().sum(axis=1), b.total)


def test_reason_codes_are_the_top_four_points_lost_against_the_best_bin():
    # given: row 0 loses 80 on x, 80 on colour, 200 on y, 60 on z, 5 on w
    compiled = scorer.compile_scorecard(mixed_scorecard())
    features = {"x": np.array([-1.0]), "colour": np.array(["green"], dtype=object), "y": np.array([9.0]),
                "z": np.array([3.0]), "w": np.array([5.0])}
    # when
    b = scorer.score_batch(compiled, features)
    # then: y first, then the x/colour tie in scorecard order, then z; w is fifth and left out
    assert b.reason_idx[0].tolist() == [2, 0, 1, 3]
    assert b.points_lost[0].tolist() == [200.0, 80.0, 80.0, 60.0]
    assert b.reason_codes[0].tolist() == ["X:y", "X:x", "X:colour", "X:z"]


def test_no_reason_where_no_points_were_lost():
    compiled = scorer.compile_scorecard(mixed_scorecard())
    b = scorer.score_batch(compiled, {"x": [20.0], "colour": np.array(["red"], dtype=object), "y": [1.0],
                                      "z": [0.0], "w": [0.0]})
    assert b.reason_idx[0].tolist() == [-1, -1, -1, -1]
    assert b.reason_codes[0].tolist() == ["", "", "", ""]


def test_scores_are_bounded_0_to_950_but_pd_follows_the_unclipped_total():
    # given: a scorecard whose extremes fall outside 0..950
    sc = person_scorecard()
    sc["characteristics"][0]["points"] = [-900.0, 0.0, 1500.0]
    compiled = scorer.compile_scorecard(sc)
    feats = {"ontime_ratio_24m": [0.1, 0.99], "debt_to_income": [0.9, 0.1],
             "verification_level": [0, 3], "connections_with_defaults": [9, 0]}
    # when
    b = scorer.score_batch(compiled, feats)
    # then
    assert b.score.tolist() == [0, 950]
    assert b.tier.tolist() == ["E", "A"]
    assert b.pd[0] > 0.99 and b.pd[1] < 1e-6


def test_pd_and_score_follow_the_scaling():
    # given: base points 600 at odds 19:1 (pd 5 %), PDO 40
    compiled = scorer.compile_scorecard(person_scorecard())
    # then
    assert scorer.pd_for_score(600, offset=compiled.offset, factor=compiled.factor) == pytest.approx(0.05)
    p640 = scorer.pd_for_score(640, offset=compiled.offset, factor=compiled.factor)
    assert (1 - p640) / p640 == pytest.approx(38.0)


@pytest.mark.parametrize("score, tier", [(950, "A"), (750, "A"), (749, "B"), (700, "B"), (650, "C"),
                                         (600, "D"), (599, "E"), (0, "E")])
def test_default_tier_bands(score, tier):
    assert scorer.tier_for(score) == tier


def test_a_two_dimensional_array_scores_like_the_dict():
    compiled = scorer.compile_scorecard(person_scorecard())
    rng = np.random.default_rng(3)
    arr = np.column_stack([rng.random(50), rng.random(50), rng.integers(0, 4, 50), rng.integers(0, 6, 50)]).astype(float)
    arr[::7, 1] = np.nan
    a = scorer.score_batch(compiled, arr)
    d = scorer.score_batch(compiled, {n: arr[:, j] for j, n in enumerate(compiled.names)})
    np.testing.assert_array_equal(a.points, d.points)
    np.testing.assert_array_equal(a.reason_idx, d.reason_idx)


_num = st.one_of(st.none(), st.floats(min_value=-20, max_value=20, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(
    st.fixed_dictionaries({"x": _num, "y": _num, "z": _num, "w": _num,
                           "colour": st.sampled_from(["red", "green", "blue", "teal", None, ""])}),
    min_size=1, max_size=30,
))
def test_vectorised_equals_per_row(rows):
    # given
    sc = mixed_scorecard()
    compiled = scorer.compile_scorecard(sc)
    feats = {k: np.array([r[k] for r in rows], dtype=object if k == "colour" else float) for k in rows[0]}
    # when
    b = scorer.score_batch(compiled, feats)
    # then
    for i, row in enumerate(rows):
        pts, total, score, reasons = reference_row(sc, row)
        assert b.points[i].tolist() == pts
        assert b.total[i] == pytest.approx(total)
        assert int(b.score[i]) == score
        assert [j for j in b.reason_idx[i].tolist() if j >= 0] == reasons


def test_scorer_does_not_import_optbinning():
    import subprocess
    import sys

    code = "import sys, scoring.scorer; print('optbinning' in sys.modules, 'django.db' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_a_bad_scorecard_is_refused():
    sc = person_scorecard()
    sc["characteristics"][0]["edges"] = [0.9, 0.5]
    with pytest.raises(ValueError, match="strictly increasing"):
        scorer.compile_scorecard(sc)
