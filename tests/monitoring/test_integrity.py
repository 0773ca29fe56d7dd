"""The nightly ledger verification: it verifies, moves the anchor, and raises a system alert
(logged at CRITICAL) when the ledger or its anchor fails."""

import json
import logging

import pytest
from django.db import transaction

from loans.models import LedgerEntry
from loans.services.ledger import ledger_append, ledger_checkpoint
from monitoring.models import Alert

pytestmark = pytest.mark.django_db

RULE = "ledger_verification_failed"


def append(n):
    with transaction.atomic():
        for i in range(n):
            ledger_append(kind="decision.automated", subject=("loans.loanapplication", i), payload={"n": i})


def run_nightly_task():
    from monitoring.tasks import verify_ledger

    return verify_ledger.delay().get()  # in-process without a broker, as beat would run it on a worker


def test_a_failing_nightly_verification_raises_a_system_alert_and_logs_critical(ledger_anchor, caplog):
    # given an anchored ledger whose last entry is then deleted
    append(3)
    ledger_checkpoint(start=True)
    LedgerEntry.objects.filter(seq=3).delete()
    # when the scheduled task runs
    with caplog.at_level(logging.INFO):
        result = run_nightly_task()
    # then
    assert result == "ledger BROKEN: 2 entries"
    alert = Alert.objects.get(rule=RULE)
    assert (alert.subject_kind, alert.severity, alert.status) == ("system", "high", "open")
    assert "removed from the tail" in alert.detail
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "ledger verification FAILED" in critical[0].getMessage()
    # the anchor was not moved over the cut tail, and a second failure the same day updates the alert
    assert json.loads(ledger_anchor.read_text())["count"] == 3
    run_nightly_task()
    assert Alert.objects.filter(rule=RULE).count() == 1


def test_an_edited_entry_fails_the_nightly_verification_without_an_anchor(settings):
    # given no anchor configured (development), an entry altered in the table
    append(2)
    LedgerEntry.objects.filter(seq=1).update(payload='{"n":99}')
    # when / then
    assert run_nightly_task() == "ledger BROKEN: 0 entries"
    assert "entry #1" in Alert.objects.get(rule=RULE).detail


def test_a_passing_nightly_verification_moves_the_anchor_and_logs_it(ledger_anchor, caplog):
    append(2)
    ledger_checkpoint(start=True)
    append(3)
    with caplog.at_level(logging.INFO, logger="monitoring.integrity"):
        assert run_nightly_task() == "ledger ok: 5 entries"
    assert json.loads(ledger_anchor.read_text())["head_seq"] == 5
    head = LedgerEntry.objects.get(seq=5).entry_hash
    assert f"ledger anchor: count=5 head_seq=5 head_hash={head}" in caplog.text
    assert not Alert.objects.filter(rule=RULE).exists()


def test_a_forged_anchor_fails_the_nightly_verification(ledger_anchor):
    append(1)
    ledger_checkpoint(start=True)
    ledger_anchor.write_text(ledger_anchor.read_text().replace('"count":1', '"count":0'))
    run_nightly_task()
    assert "forged" in Alert.objects.get(rule=RULE).detail


def test_the_ledger_verification_schedule_exists_after_migrate():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.select_related("crontab").get(name="ledger verification")
    assert task.task == "monitoring.tasks.verify_ledger" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "4", "Asia/Shanghai")
