"""Key versions and rotation of the encrypted resident IDs and phones (README "Personal data")."""

import base64
import io
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError

from loans.models import Person
from loans.parties import identity
from loans.services.privacy import pii_rotate, pii_versions
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

OLD = "old-master-Kp3vQ9sT1wXz7LmN0bRcY5dHfJ2gA8eU"
NEW = "new-master-Vh6nB1qW8zR4tY0pL3mK9sD2fG7jC5xA"


@pytest.fixture
def v1(settings):
    settings.PII_ENCRYPTION_KEY, settings.PII_KEY_VERSION, settings.PII_PREVIOUS_KEYS = OLD, 1, []
    settings.PII_LOOKUP_KEY = ""
    return settings


def rotate_to_v2(settings):
    """What an operator deploys before running rotate_pii_key."""
    settings.PII_ENCRYPTION_KEY, settings.PII_KEY_VERSION = NEW, 2
    settings.PII_PREVIOUS_KEYS, settings.PII_LOOKUP_KEY = [f"1:{OLD}"], OLD


def legacy_token(plaintext: str, master: str) -> str:
    """A ciphertext as written before key versions existed."""
    nonce = os.urandom(12)
    key = identity._legacy_keys(master)[0]
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), None)).decode()


def clear(person: Person) -> tuple[str, str]:
    person = Person.objects.get(pk=person.pk)
    return person.reveal_resident_id(), identity.decrypt(person.phone_encrypted)


def test_a_ciphertext_names_its_key_version_and_the_key_is_derived_per_version(v1):
    token = identity.encrypt("110105198006151234")
    assert token.startswith("v1:") and identity.token_version(token) == 1
    assert identity.derive_key(OLD, 1) != identity.derive_key(OLD, 2)
    # the version is sealed in: relabelling a v1 ciphertext as v2 does not decrypt
    v1.PII_PREVIOUS_KEYS = [f"2:{OLD}"]
    with pytest.raises(InvalidTag):
        identity.decrypt("v2:" + token[3:])


def test_old_new_and_legacy_ciphertexts_are_all_readable_during_a_rotation(v1):
    # given persons sealed under v1, and one written before versions existed
    before = [PersonFactory(phone=f"1381234567{i}") for i in range(3)]
    legacy = PersonFactory(phone="13900000000")
    compact = legacy.reveal_resident_id()
    Person.objects.filter(pk=legacy.pk).update(
        resident_id_encrypted=legacy_token(compact, OLD), phone_encrypted=legacy_token("13900000000", OLD)
    )
    expected = {p.pk: clear(p) for p in before}
    # when the new master is deployed and a person is written under v2
    rotate_to_v2(v1)
    after = PersonFactory(phone="13700000000")
    # then every version reads
    assert Person.objects.get(pk=after.pk).resident_id_encrypted.startswith("v2:")
    assert {p.pk: clear(p) for p in before} == expected
    assert clear(legacy) == (compact, "13900000000")
    assert pii_versions() == {"legacy": 1, "v1": 3, "v2": 1}


def test_rotation_goes_in_batches_keeps_values_and_hashes_and_is_idempotent(v1):
    persons = [PersonFactory(phone=f"1381234567{i}") for i in range(5)]
    expected = {p.pk: clear(p) for p in persons}
    hashes = dict(Person.objects.values_list("pk", "resident_id_hash"))
    stamps = dict(Person.objects.values_list("pk", "updated_at"))
    history_rows = Person.history.count()
    rotate_to_v2(v1)
    seen = []
    # when rotating two rows at a time
    progress = pii_rotate(batch_size=2, on_batch=lambda p: seen.append((p.done, p.total)))
    # then three batches did it all, values, hashes and timestamps unchanged, no history written
    assert seen == [(2, 5), (4, 5), (5, 5)] and progress.done == 5
    assert pii_versions() == {"v2": 5}
    assert {p.pk: clear(p) for p in persons} == expected
    assert dict(Person.objects.values_list("pk", "resident_id_hash")) == hashes
    assert dict(Person.objects.values_list("pk", "updated_at")) == stamps
    assert Person.history.count() == history_rows
    # and a second run finds nothing to do
    assert pii_rotate(batch_size=2).done == 0
    # and once the old master is withdrawn everything still reads
    v1.PII_PREVIOUS_KEYS = []
    assert {p.pk: clear(p) for p in persons} == expected


def test_a_rotation_stopped_midway_resumes_where_it_stopped(v1):
    persons = [PersonFactory() for _ in range(5)]
    rotate_to_v2(v1)

    class Stop(Exception):
        pass

    def crash(progress):
        raise Stop

    # given a rotation killed after its first batch (committed)
    with pytest.raises(Stop):
        pii_rotate(batch_size=2, on_batch=crash)
    assert pii_versions() == {"v1": 3, "v2": 2}
    # when it runs again, it does the rest only
    assert pii_rotate(batch_size=2).done == 3
    assert pii_versions() == {"v2": 5}
    assert all(Person.objects.get(pk=p.pk).reveal_resident_id() for p in persons)


def test_the_command_prints_progress_and_refuses_an_unknown_key_version(v1):
    for _ in range(3):
        PersonFactory()
    rotate_to_v2(v1)
    out = io.StringIO()
    call_command("rotate_pii_key", "--batch-size", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("re-encrypted 2/3 persons under v2") and lines[1].startswith("re-encrypted 3/3")
    assert lines[-1].startswith("done: 3 persons re-encrypted under v2")
    status = io.StringIO()
    call_command("rotate_pii_key", "--status", stdout=status)
    assert "v2=3" in status.getvalue()
    # a ciphertext under a version whose master is missing is reported, not skipped
    v1.PII_ENCRYPTION_KEY, v1.PII_KEY_VERSION, v1.PII_PREVIOUS_KEYS = "third-master-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 3, []
    with pytest.raises(CommandError, match="key version 2"):
        call_command("rotate_pii_key", stdout=io.StringIO())


def test_the_system_check_demands_a_fixed_lookup_key_once_a_rotation_starts(v1):
    v1.PII_PREVIOUS_KEYS = [f"1:{OLD}"]
    v1.PII_ENCRYPTION_KEY, v1.PII_KEY_VERSION = NEW, 2
    ids = [e.id for e in checks.run_checks(tags=[checks.Tags.security]) if e.id.startswith("loans.")]
    assert ids == ["loans.E102"]
    v1.PII_LOOKUP_KEY = OLD
    assert [e.id for e in checks.run_checks(tags=[checks.Tags.security]) if e.id.startswith("loans.")] == []
