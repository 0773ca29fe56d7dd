from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.composite import DEFAULT_CAP, PartyInput, composite_score


def test_weights_are_renormalised_over_the_parties_present():
    # given: own 700 (0.60), legal rep 600 (0.15), controller 800 (0.15), shareholder 40 % at 500 (0.028)
    parties = [
        PartyInput(1, "legal_representative", None, 600),
        PartyInput(2, "actual_controller", None, 800),
        PartyInput(3, "shareholder", Decimal("40"), 500),
        PartyInput(4, "director", None, None),  # no score: drops out
    ]
    # when
    res = composite_score(own_score=700, parties=parties)
    # then
    total_w = 0.60 + 0.15 + 0.15 + 0.07 * 0.4
    expected = (0.6 * 700 + 0.15 * 600 + 0.15 * 800 + 0.028 * 500) / total_w
    assert res.uncapped == pytest.approx(expected)
    assert res.score == round(expected)
    assert not res.capped
    c = res.components
    assert sum(p["weight"] for p in c["parties"]) + c["own"]["weight"] == pytest.approx(1.0, abs=1e-3)
    assert sum(p["contribution"] for p in c["parties"]) + c["own"]["contribution"] == pytest.approx(expected, abs=0.05)
    assert c["missing_parties"] == [{"person_id": 4, "role": "director"}]


def test_without_parties_the_composite_is_the_own_score():
    assert composite_score(own_score=655, parties=[]).score == 655


def test_two_legal_representatives_share_the_role_weight():
    res = composite_score(own_score=700, parties=[PartyInput(1, "legal_representative", None, 600),
                                                  PartyInput(2, "legal_representative", None, 800)])
    assert [p["weight"] for p in res.components["parties"]] == [pytest.approx(0.075 / 0.75, abs=1e-4)] * 2
    assert res.score == 700


@pytest.mark.parametrize("role", ["legal_representative", "shareholder", "guarantor", "director"])
def test_a_related_party_in_default_caps_the_company_at_599(role):
    # given: an excellent company and one party in default, whatever the role
    parties = [PartyInput(1, "actual_controller", None, 820),
               PartyInput(2, role, Decimal("10") if role == "shareholder" else None, 800, in_default=True)]
    # when
    res = composite_score(own_score=900, parties=parties)
    # then
    assert res.uncapped > DEFAULT_CAP
    assert res.score == DEFAULT_CAP == 599
    assert res.capped and res.components["cap"] == 599 and res.components["parties_in_default"] == [2]


def test_the_cap_never_raises_a_low_score():
    res = composite_score(own_score=450, parties=[PartyInput(1, "legal_representative", None, 500, in_default=True)])
    assert res.score < 599 and not res.capped


def test_the_chunk_formula_is_the_one_company_formula():
    # given: 400 random companies with 0-6 parties of every role, some unscored, some in
    # default, shareholders with and without an ownership share
    import json

    import numpy as np

    from scoring.composite import composite_batch

    rng = np.random.default_rng(7)
    roles = ["legal_representative", "actual_controller", "shareholder", "director", "guarantor", "auditor"]
    own, pds, parties_by_company = [], [], []
    rows = []
    for i in range(400):
        own.append(int(rng.integers(0, 951)))
        pds.append(float(rng.random()))
        parties = []
        for _ in range(int(rng.integers(0, 7))):
            score = None if rng.random() < 0.2 else int(rng.integers(0, 951))
            pct = None if rng.random() < 0.3 else Decimal(str(round(float(rng.uniform(0, 100)), 2)))
            p = PartyInput(int(rng.integers(1, 10**6)), str(rng.choice(roles)), pct, score,
                           in_default=score is not None and rng.random() < 0.1)
            parties.append(p)
            rows.append((i, p))
        parties_by_company.append(parties)
    # when
    batch = composite_batch(
        own_scores=own, own_pds=pds, company_index=[i for i, _ in rows], person_ids=[p.person_id for _, p in rows],
        roles=[p.role for _, p in rows], ownership_pcts=[p.ownership_pct for _, p in rows],
        party_scores=[np.nan if p.score is None else p.score for _, p in rows],
        party_in_default=[p.in_default for _, p in rows],
    )
    # then: the same scores, the same floats, the same JSON text
    for i, parties in enumerate(parties_by_company):
        ref = composite_score(own_score=own[i], parties=parties)
        ref.components["own"]["pd"] = round(pds[i], 6)
        assert batch.score[i] == ref.score
        assert batch.uncapped[i] == ref.uncapped
        assert bool(batch.capped[i]) == ref.capped
        assert batch.components_json[i] == json.dumps(ref.components)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.sampled_from([1, 2, 4]))
def test_rounded_text_is_repr_of_round(value, places):
    from scoring.composite import _rounded_text

    assert _rounded_text([value], places) == [repr(round(value, places))]
