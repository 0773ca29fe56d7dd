"""Phase 5 of the nightly run: the portfolio snapshot and model monitoring after servicing."""

import pytest
from django.core.management import call_command
from django.db import connection

from monitoring.models import ModelMonitoring, Phase, PortfolioSnapshot, RunStatus, ScoringRun

from .conftest import RUN_AS_OF

pytestmark = pytest.mark.django_db


def test_the_nightly_run_ends_with_a_snapshot_and_model_monitoring(population, capsys):
    # when
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.phase == Phase.DONE
    assert "analytics" in run.timings and "analytics_errors" not in run.counts
    assert run.counts["analytics_snapshot_s"] >= 0 and run.counts["analytics_model_monitoring_s"] >= 0
    snap = PortfolioSnapshot.objects.get(as_of=RUN_AS_OF)
    assert snap.run == run and snap.loans_count == run.counts["snapshot_loans"]
    rows = {r.model.subject_kind: r for r in ModelMonitoring.objects.filter(as_of=RUN_AS_OF).select_related("model")}
    assert set(rows) == {"person", "company"}
    for row in rows.values():
        assert row.role == "champion" and row.psi is not None and row.psi_status in ("ok", "warn", "alert")
        assert row.n_scored > 0 and row.characteristic_psi  # trained with characteristic bins
        assert row.backtest and row.auc is not None and 0.5 < row.auc <= 1  # the demo's outcomes are learnable
    # portfolio_report reads the stored snapshot
    call_command("portfolio_report", as_of=RUN_AS_OF.isoformat())
    assert "Five categories" in capsys.readouterr().out
    assert PortfolioSnapshot.objects.count() == 1


def _refuse_snapshots():
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE FUNCTION _refuse_snapshot() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected fault: snapshot refused'; END $$"
            )
            cur.execute(
                "CREATE TRIGGER _refuse_snapshot BEFORE INSERT ON monitoring_portfoliosnapshot "
                "FOR EACH ROW EXECUTE FUNCTION _refuse_snapshot()"
            )
        else:
            cur.execute(
                "CREATE TRIGGER _refuse_snapshot BEFORE INSERT ON monitoring_portfoliosnapshot "
                "BEGIN SELECT RAISE(ABORT, 'injected fault: snapshot refused'); END"
            )


def test_a_failing_snapshot_does_not_fail_the_night(population):
    # given: the database refuses portfolio snapshots
    _refuse_snapshots()
    # when
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then: scores, alerts and servicing stand, the failure is recorded, monitoring still ran
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.phase == Phase.DONE
    assert "snapshot refused" in run.counts["analytics_errors"]["snapshot"]
    assert "servicing" in run.timings and "analytics" in run.timings
    assert not PortfolioSnapshot.objects.exists()
    assert ModelMonitoring.objects.filter(as_of=RUN_AS_OF).count() == 2
