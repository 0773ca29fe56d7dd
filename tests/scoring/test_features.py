import datetime

import pytest

from scoring import features as fd
from scoring.models import PersonCreditSnapshot
from scoring.services import SnapshotExists, credit_snapshot_record
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_every_feature_has_a_dimension_of_its_kind_and_a_sane_range():
    for kind, feats in fd.FEATURES_BY_KIND.items():
        names = [f.name for f in feats]
        assert len(names) == len(set(names))
        for f in feats:
            assert f.dimension in fd.DIMENSIONS_BY_KIND[kind]
            assert f.min_value < f.max_value
            assert f.trend in ("ascending", "descending", "auto_asc_desc")
    assert set(fd.DIMENSIONS_BY_KIND["person"]) == {f.dimension for f in fd.PERSON_FEATURES}


def test_a_value_out_of_range_names_the_feature_and_saves_nothing():
    # given
    person = PersonFactory()
    # when
    with pytest.raises(fd.FeatureRangeError) as err:
        credit_snapshot_record(subject_kind="person", subject_id=person.id, as_of=datetime.date(2025, 1, 31),
                               features={"ontime_ratio_24m": 1.7, "debt_to_income": 0.2})
    # then
    assert "ontime_ratio_24m" in str(err.value) and "[0, 1]" in str(err.value)
    assert PersonCreditSnapshot.objects.count() == 0


@pytest.mark.parametrize("features, fragment", [
    ({"worst_dpd_24m": 3.5}, "whole number"),
    ({"no_such_feature": 1}, "unknown person feature"),
    ({"monthly_income": "abc"}, "not a number"),
    ({"debt_to_income": float("inf")}, "not a finite number"),
    ({"debt_to_income": -1.0}, "outside its valid range"),
])
def test_invalid_values_are_refused(features, fragment):
    with pytest.raises(fd.FeatureRangeError, match=fragment):
        fd.validate_features("person", features)


def test_missing_values_are_normal_and_stored_as_null():
    # given
    company = CompanyFactory()
    # when
    snap = credit_snapshot_record(subject_kind="company", subject_id=company.id, as_of=datetime.date(2025, 1, 31),
                                  features={"revenue_12m": None, "lawsuits_24m": 2})
    # then
    snap.refresh_from_db()
    assert snap.revenue_12m is None and snap.revenue_trend is None and snap.lawsuits_24m == 2


def test_snapshots_are_append_only_one_per_date():
    # given
    person = PersonFactory()
    day = datetime.date(2025, 1, 31)
    credit_snapshot_record(subject_kind="person", subject_id=person.id, as_of=day, features={"debt_to_income": 0.2})
    # when / then
    with pytest.raises(SnapshotExists, match="append-only"):
        credit_snapshot_record(subject_kind="person", subject_id=person.id, as_of=day, features={"debt_to_income": 0.9})
    assert PersonCreditSnapshot.objects.get(person=person).debt_to_income == 0.2


def test_column_validation_counts_rows_out_of_range():
    import numpy as np

    with pytest.raises(fd.FeatureRangeError, match="2 row"):
        fd.validate_columns("company", {"customer_concentration": np.array([0.5, 1.2, np.nan, -0.1])})
