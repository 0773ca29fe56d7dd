"""The keyed, anchored ledger: appends, tamper detection (edits, re-computed chains, a cut tail,
a forged anchor), room for money movements, the cut-over from the unkeyed chain, and one chain
under concurrency."""

import hashlib
import importlib
import json
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps as global_apps
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction

from loans.models import LedgerEntry
from loans.services.ledger import GENESIS_HASH, ledger_append, ledger_verify


def append(n=1, kind="test.event"):
    with transaction.atomic():
        return [ledger_append(kind=kind, subject=("loans.loan", i), payload={"n": i, "amount": "10.00"}) for i in range(n)]


def verify_output(*args):
    out = StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out)
    except SystemExit:
        pass
    return out.getvalue().strip()


def unkeyed_rechain_from(seq: int, payload: str) -> None:
    """What an editor with write access to the table can do: change an entry and recompute
    every hash from there on with the published (unkeyed) SHA-256 rule."""
    entries = list(LedgerEntry.objects.filter(seq__gte=seq).order_by("seq"))
    prev = LedgerEntry.objects.get(seq=seq - 1).entry_hash if seq > 1 else GENESIS_HASH
    entries[0].payload = payload
    for e in entries:
        content = json.dumps(
            {"seq": e.seq, "kind": e.kind, "subject_type": e.subject_type, "subject_id": e.subject_id,
             "payload": e.payload},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )
        e.content_hash = hashlib.sha256(content.encode()).hexdigest()
        e.prev_hash = prev
        e.entry_hash = prev = hashlib.sha256((e.prev_hash + e.content_hash).encode()).hexdigest()
        e.save()


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
def test_an_edited_entry_with_the_unkeyed_chain_recomputed_is_reported():
    # given three entries, the second edited and every hash from it recomputed without the key
    append(3)
    unkeyed_rechain_from(2, '{"amount":"99999.00","n":1}')
    # when / then: the content hash matches the new content, but the seal is not the key's
    assert verify_output().startswith("broken at entry #2: entry_hash is not the keyed seal")


@pytest.mark.django_db
def test_the_whole_chain_recomputed_without_the_key_is_reported_at_its_first_entry():
    append(2)
    unkeyed_rechain_from(1, '{"forged":true}')
    assert ledger_verify()[1].seq == 1


@pytest.mark.django_db
def test_a_chain_sealed_with_another_key_does_not_verify(settings):
    append(2)
    settings.LEDGER_HMAC_KEY = "another-ledger-secret-of-enough-length-0123456789"
    assert ledger_verify()[1].seq == 1


@pytest.mark.django_db
def test_deleting_the_last_entry_is_reported_against_the_anchor(ledger_anchor):
    # given a verified, anchored ledger of three entries
    append(3)
    assert verify_output("--checkpoint").startswith("ledger anchor: count=3 head_seq=3")
    assert verify_output() == "ok"
    # when the last entry is deleted (what remains is still a valid chain)
    LedgerEntry.objects.filter(seq=3).delete()
    # then
    assert verify_output().startswith(
        "broken at entry #3: the ledger ends at entry #2 but the anchor of"
    )


@pytest.mark.django_db
def test_a_truncated_tail_after_later_appends_is_reported(ledger_anchor):
    from loans.services.ledger import ledger_checkpoint

    append(2)
    ledger_checkpoint(start=True)
    append(3)  # entries #3-#5, after the checkpoint
    LedgerEntry.objects.filter(seq__gte=2).delete()  # cut back to below the anchored head
    checked, broken = ledger_verify()
    assert (checked, broken.seq) == (1, 2) and "removed from the tail" in broken.problem


@pytest.mark.django_db
def test_a_rewritten_anchored_head_is_reported(ledger_anchor):
    from loans.services.ledger import ledger_checkpoint

    append(2)
    ledger_checkpoint(start=True)
    # an editor replaces entry #2 with a fresh, properly keyed one (say, by replaying the append)
    LedgerEntry.objects.filter(seq=2).delete()
    append(1, kind="other.event")
    assert ledger_verify()[1].problem.startswith("this entry is not the head recorded by the anchor")


@pytest.mark.django_db
def test_a_forged_anchor_is_refused(ledger_anchor):
    from loans.ledger_chain import Anchor, anchor_key
    from loans.services.ledger import LedgerAnchorError, ledger_checkpoint

    # given an anchored ledger
    append(2)
    ledger_checkpoint(start=True)
    # when the anchor is replaced by one claiming a shorter ledger, signed with a guessed key
    forged = Anchor(count=1, head_seq=1, head_hash=LedgerEntry.objects.get(seq=1).entry_hash, checkpointed_at="x")
    ledger_anchor.write_text(forged.to_json(anchor_key("a-guessed-ledger-secret-0123456789abcdef")))
    # then verification refuses it and no checkpoint overwrites it
    assert verify_output().startswith("broken: the anchor at")
    assert "forged" in verify_output()
    with pytest.raises(LedgerAnchorError, match="refused"):
        ledger_checkpoint()
    assert json.loads(ledger_anchor.read_text())["head_seq"] == 1
    # and an anchor edited by hand (signature kept) is refused as well
    ledger_anchor.write_text(ledger_anchor.read_text().replace('"count":1', '"count":2'))
    assert "forged" in verify_output()


@pytest.mark.django_db
def test_a_missing_anchor_is_reported_and_only_the_operator_starts_one(ledger_anchor):
    from loans.services.ledger import LedgerAnchorError, ledger_checkpoint

    append(2)
    assert "no anchor at" in verify_output()
    with pytest.raises(LedgerAnchorError, match="no anchor"):
        ledger_checkpoint()  # the nightly check does not silently replace a deleted anchor
    assert verify_output("--checkpoint") == "ledger anchor: count=2 head_seq=2 head_hash=" + (
        LedgerEntry.objects.get(seq=2).entry_hash
    ) + "\nok"
    # an empty ledger is anchored without ceremony
    LedgerEntry.objects.all().delete()
    ledger_anchor.unlink()
    assert ledger_checkpoint().count == 0


@pytest.mark.django_db
def test_the_anchor_only_moves_forward(ledger_anchor):
    from loans.services.ledger import LedgerAnchorError, ledger_checkpoint

    append(3)
    ledger_checkpoint(start=True)
    LedgerEntry.objects.filter(seq=3).delete()
    with pytest.raises(LedgerAnchorError, match="anchored head #3 is gone"):
        ledger_checkpoint()
    assert json.loads(ledger_anchor.read_text())["count"] == 3


@pytest.mark.django_db
def test_money_movements_and_line_changes_enter_the_ledger_without_a_schema_change():
    from loans.ledger_chain import LedgerKind

    # given the entries the post-loan work will append, with money as Decimal
    with transaction.atomic():
        ledger_append(kind=LedgerKind.DRAWDOWN, subject=("loans.loan", 7),
                      payload={"credit_line_id": 3, "amount": Decimal("100000.00"), "term_months": 6})
        ledger_append(kind=LedgerKind.REPAYMENT, subject=("loans.loan", 7),
                      payload={"amount": Decimal("17123.45"), "principal": Decimal("16000.00"),
                               "interest": Decimal("1123.45"), "external_ref": "bank-txn-0001"})
        ledger_append(kind=LedgerKind.CREDIT_LINE_LIMIT_CHANGED, subject=("loans.creditline", 3),
                      payload={"from": Decimal("500000.00"), "to": Decimal("250000.00"), "actor": "system"})
        ledger_append(kind=LedgerKind.CREDIT_LINE_STATUS_CHANGED, subject=("loans.creditline", 3),
                      payload={"from": "active", "to": "frozen", "actor": 12})
    # then they chain and verify, and the amounts read back exactly
    assert ledger_verify() == (4, None)
    repayment = json.loads(LedgerEntry.objects.get(kind="repayment").payload)
    assert repayment["amount"] == "17123.45" and repayment["interest"] == "1123.45"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["", "Drawdown", "drawdown.", "x" * 41, "limit changed"])
def test_a_kind_that_is_not_a_dotted_name_is_refused(kind):
    with pytest.raises(ValueError, match="ledger kind"), transaction.atomic():
        ledger_append(kind=kind, subject=("loans.loan", 1), payload={})
    assert not LedgerEntry.objects.exists()


def _cutover():
    return importlib.import_module("loans.migrations.0008_ledger_keyed_chain")


def _unkeyed_ledger(n: int) -> None:
    """Entries as the code before the cut-over wrote them (SHA-256, no key)."""
    from loans.ledger_chain import canonical_json, content_hash_of, unkeyed_entry_hash_of

    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        payload = canonical_json({"n": seq, "amount": Decimal("10.00")})
        c_hash = content_hash_of(seq=seq, kind="decision.automated", subject_type="loans.loanapplication",
                                 subject_id=str(seq), payload=payload)
        e_hash = unkeyed_entry_hash_of(prev_hash=prev, content_hash=c_hash)
        LedgerEntry.objects.create(
            seq=seq, prev_hash=prev, content_hash=c_hash, entry_hash=e_hash, kind="decision.automated",
            subject_type="loans.loanapplication", subject_id=str(seq), payload=payload,
        )
        prev = e_hash


@pytest.mark.django_db
def test_the_cut_over_rechains_an_unkeyed_ledger_under_the_key_and_records_it():
    # given an unkeyed ledger as the code before the cut-over left it
    _unkeyed_ledger(5)
    old_head = LedgerEntry.objects.get(seq=5).entry_hash
    contents = list(LedgerEntry.objects.order_by("seq").values_list("payload", "content_hash"))
    assert ledger_verify()[1].seq == 1  # the keyed rule does not accept it as it is
    # when the migration runs
    _cutover().key_the_chain(global_apps, None)
    # then it verifies under the key, contents untouched, and the cut-over is an entry of its own
    assert ledger_verify() == (6, None)
    assert list(LedgerEntry.objects.filter(seq__lte=5).order_by("seq").values_list("payload", "content_hash")) == contents
    cutover = LedgerEntry.objects.get(seq=6)
    record = json.loads(cutover.payload)
    assert cutover.kind == "ledger.chain_keyed"
    assert (record["entries_rechained"], record["previous_head_hash"], record["broken_before_cutover"]) == (5, old_head, None)
    # and the reverse restores the unkeyed rule (so the previous code verifies again)
    _cutover().unkey_the_chain(global_apps, None)
    assert ledger_verify()[1].seq == 1
    m = _cutover()
    assert m.verify(LedgerEntry, connection, link=m.unkeyed_entry_hash_of)[2] is None


@pytest.mark.django_db
def test_the_cut_over_refuses_an_unkeyed_ledger_that_is_already_broken():
    _unkeyed_ledger(3)
    LedgerEntry.objects.filter(seq=2).update(payload='{"amount":"99999.00"}')
    before = list(LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True))
    with pytest.raises(RuntimeError, match="already broken .entry #2: content"):
        _cutover().key_the_chain(global_apps, None)
    assert list(LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True)) == before


@pytest.mark.django_db
def test_the_cut_over_of_an_empty_ledger_writes_nothing():
    _cutover().key_the_chain(global_apps, None)
    assert not LedgerEntry.objects.exists()


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
