"""The hash-chained ledger: appends, tamper detection, and one chain under concurrency."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction

from loans.models import LedgerEntry
from loans.services.ledger import GENESIS_HASH, ledger_append, ledger_verify


def append(n=1, kind="test.event"):
    with transaction.atomic():
        return [ledger_append(kind=kind, subject=("loans.loan", i), payload={"n": i, "amount": "10.00"}) for i in range(n)]


def verify_output():
    out = StringIO()
    try:
        call_command("verify_ledger", stdout=out)
    except SystemExit:
        pass
    return out.getvalue().strip()


@pytest.mark.django_db
def test_entries_chain_from_the_genesis_hash():
    first, second = append(2)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.entry_hash)
    assert verify_output() == "ok"


@pytest.mark.django_db
def test_an_empty_ledger_verifies():
    assert verify_output() == "ok"


@pytest.mark.django_db
def test_an_altered_payload_is_reported_at_its_entry():
    append(3)
    LedgerEntry.objects.filter(seq=2).update(payload='{"amount":"99999.00","n":1}')
    assert verify_output().startswith("broken at entry #2: content does not match")


@pytest.mark.django_db
def test_a_deleted_entry_is_reported():
    append(3)
    LedgerEntry.objects.filter(seq=2).delete()
    assert verify_output().startswith("broken at entry #3: expected entry #2 next")


@pytest.mark.django_db
def test_a_recomputed_entry_breaks_the_next_link():
    from loans.services.ledger import content_hash_of, entry_hash_of

    append(3)
    e = LedgerEntry.objects.get(seq=2)
    e.payload = '{"forged":true}'
    e.content_hash = content_hash_of(seq=2, kind=e.kind, subject_type=e.subject_type, subject_id=e.subject_id, payload=e.payload)
    e.entry_hash = entry_hash_of(prev_hash=e.prev_hash, content_hash=e.content_hash)
    e.save()
    assert ledger_verify()[1].seq == 3


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        ledger_append(kind="x", subject=("a", 1), payload={})


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain(on_postgres):
    # given eight threads appending twenty entries each at the same time
    barrier = threading.Barrier(8)
    errors = []

    def worker():
        try:
            barrier.wait()
            for _ in range(20):
                append(1, kind="race")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    # then
    assert errors == []
    assert ledger_verify() == (160, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_keep_one_unbroken_chain(on_postgres, product):
    # given six draft applications of six companies
    from loans.services.applications import application_create, application_submit
    from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory

    from .conftest import TODAY, scores_for

    apps = []
    for _ in range(6):
        company = CompanyFactory()
        RelatedPartyFactory(company=company, person=PersonFactory(), role="legal_representative")
        apps.append(application_create(company_id=company.pk, product_id=product.pk, requested_amount="100000", term_months=12))
    barrier = threading.Barrier(len(apps))
    errors = []

    def worker(app):
        try:
            barrier.wait()
            application_submit(application_id=app.pk, as_of=TODAY, scores=scores_for(app.company, 700))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    # when they are decided at the same moment
    threads = [threading.Thread(target=worker, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    # then
    assert errors == []
    assert ledger_verify() == (6, None)
