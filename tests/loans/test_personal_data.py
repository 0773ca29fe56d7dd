"""Export, erasure and consent (README "Personal data")."""

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.urls import reverse

from loans.models import CreditCheckConsent, Person, PersonDataRequest, RelatedParty
from loans.parties import identity
from loans.services.privacy import consent_given, consent_record, consent_withdraw, person_erase, person_export
from scoring.models import PersonCreditSnapshot
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import GOOD_PERSON, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(django_user_model):
    """The staff member who answers data requests."""
    user = django_user_model.objects.create_user("dpo", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_person", "export_person_data", "erase_person_data"]))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def prospect(db):
    """A person in a company that never borrowed: nothing obliges the lender to keep them."""
    person = PersonFactory(name="王芳", phone="13811112222")
    RelatedPartyFactory(company=CompanyFactory(), person=person)
    snapshot("person", person.pk, GOOD_PERSON)
    return person


def test_export_hands_over_the_data_in_clear_and_is_recorded(prospect, dpo):
    consent_record(person_id=prospect.pk, source="bureau", actor=dpo, evidence="auth-7")
    data = person_export(person_id=prospect.pk, actor=dpo, reason="access request 2026-118")
    assert data["person"]["name"] == "王芳"
    assert data["person"]["resident_id"] == prospect.reveal_resident_id()
    assert data["person"]["phone"] == "13811112222"
    assert [r["role"] for r in data["roles"]] == ["legal_representative"]
    assert [c["source"] for c in data["credit_check_consents"]] == ["bureau"]
    assert len(data["credit_data"]) == 1
    json.dumps(data)  # JSON-ready
    request = PersonDataRequest.objects.get(person=prospect)
    assert (request.kind, request.outcome, request.requested_by, request.reason) == ("export", "done", dpo, "access request 2026-118")


def test_the_export_command_needs_the_permission_and_a_reason(prospect, dpo, django_user_model):
    out = io.StringIO()
    call_command("export_person", str(prospect.pk), "--user", "dpo", "--reason", "request 9", stdout=out)
    assert json.loads(out.getvalue())["person"]["id"] == prospect.pk
    assert PersonDataRequest.objects.get(person=prospect).channel == "command"
    django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    with pytest.raises(CommandError, match="export_person_data"):
        call_command("export_person", str(prospect.pk), "--user", "clerk", "--reason", "x", stdout=io.StringIO())
    assert PersonDataRequest.objects.count() == 1


def test_the_admin_export_and_erasure_pages_need_their_permissions(prospect, dpo, django_user_model, client):
    export_url = reverse("admin:parties_person_export", args=[prospect.pk])
    erase_url = reverse("admin:parties_person_erase", args=[prospect.pk])
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_person"))
    client.force_login(viewer)
    assert client.post(export_url, {"reason": "x"}).status_code == 403
    assert client.post(erase_url, {"reason": "x"}).status_code == 403
    assert not PersonDataRequest.objects.exists()
    client.force_login(dpo)
    assert client.get(export_url).status_code == 200
    response = client.post(export_url, {"reason": "access request 5"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["person"]["resident_id"] == prospect.reveal_resident_id()
    assert "attachment" in response["Content-Disposition"]
    # a form without a reason does nothing
    assert client.post(erase_url, {"reason": ""}).status_code == 200
    assert Person.objects.get(pk=prospect.pk).name == "王芳"
    response = client.post(erase_url, {"reason": "erasure request 6"})
    assert response.status_code == 302
    assert Person.objects.get(pk=prospect.pk).name == "[erased]"


def test_erasure_pseudonymises_the_person_and_their_history(prospect, dpo):
    compact = prospect.reveal_resident_id()
    prospect.name = "王芳芳"
    prospect.save()  # a second version in the history
    # when the person asks to be erased
    request = person_erase(person_id=prospect.pk, actor=dpo, reason="erasure request 2026-120")
    # then the request is recorded as done, with the reason
    assert (request.outcome, request.reason, request.requested_by) == ("done", "erasure request 2026-120", dpo)
    # and nothing identifies the person any more
    person = Person.objects.get(pk=prospect.pk)
    assert (person.name, person.resident_id_encrypted, person.phone_encrypted, person.phone_masked) == ("[erased]", "", "", "")
    assert person.resident_id_masked == "00************0000"
    assert not Person.objects.filter(resident_id_hash=identity.lookup_hash(compact)).exists()
    assert not RelatedParty.objects.filter(person=person).exists()
    assert not PersonCreditSnapshot.objects.filter(person=person).exists()
    history = list(person.history.values_list("name", "resident_id_hash", "resident_id_masked", "phone_masked"))
    assert len(history) >= 3
    assert {row[0] for row in history} == {"[erased]"} and {row[3] for row in history} == {""}
    assert identity.lookup_hash(compact) not in {row[1] for row in history}
    # and the change itself is in the history, by the DPO
    assert person.history.first().history_user == dpo
    # and the same number may register again, as a new person
    again = PersonFactory(resident_id=compact)
    assert again.pk != person.pk
    # and erasing twice is refused, saying why
    assert person_erase(person_id=person.pk, actor=dpo, reason="again").refusal == "the person's data is already erased"


def test_erasure_is_refused_while_a_loan_record_obliges_keeping_the_data(make_line, company, dpo):
    make_line()
    person = company.related_parties.get().person
    before = Person.objects.filter(pk=person.pk).values().get()
    request = person_erase(person_id=person.pk, actor=dpo, reason="erasure request 3")
    assert request.outcome == "refused"
    assert f"company #{company.pk}" in request.refusal and "loan records" in request.refusal
    assert Person.objects.filter(pk=person.pk).values().get() == before
    assert RelatedParty.objects.filter(person=person).exists()


def test_a_guarantor_is_not_erased(make_line, dpo):
    from loans.models import Guarantee

    line = make_line()
    guarantor = PersonFactory()
    Guarantee.objects.create(guarantor_person=guarantor, amount="1000", credit_line=line)
    request = person_erase(person_id=guarantor.pk, actor=dpo, reason="erasure request 4")
    assert request.outcome == "refused" and "guarantees" in request.refusal


def test_the_erase_command_says_why_it_refuses(make_line, company, dpo):
    make_line()
    person = company.related_parties.get().person
    with pytest.raises(CommandError, match="erasure refused: holds a role"):
        call_command("erase_person", str(person.pk), "--user", "dpo", "--reason", "request 8", stdout=io.StringIO())
    assert PersonDataRequest.objects.get(person=person).outcome == "refused"


def test_consent_is_recorded_per_person_and_source_and_can_be_withdrawn(dpo):
    person = PersonFactory()
    first = consent_record(person_id=person.pk, source="bureau", actor=dpo, evidence="auth-1")
    assert consent_record(person_id=person.pk, source="bureau", actor=dpo) == first  # already current
    consent_record(person_id=person.pk, source="lender", actor=dpo)
    assert consent_given(person_id=person.pk, source="bureau") and not consent_given(person_id=person.pk, source="partner")
    withdrawn = consent_withdraw(person_id=person.pk, source="bureau", actor=dpo)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by == dpo
    assert not consent_given(person_id=person.pk, source="bureau") and consent_given(person_id=person.pk, source="lender")
    # granted again: a new record, the withdrawn one kept
    consent_record(person_id=person.pk, source="bureau", actor=dpo)
    assert CreditCheckConsent.objects.filter(person=person, source="bureau").count() == 2
    # the database keeps one current consent per person and source
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditCheckConsent.objects.create(person=person, source="bureau", granted_at=first.granted_at)
    with pytest.raises(ValidationError, match="source"):
        consent_record(person_id=person.pk, source="gossip")


def test_a_consent_recorded_in_the_admin_goes_through_the_service(admin_client, admin_user):
    person = PersonFactory()
    url = reverse("admin:loans_creditcheckconsent_add")
    response = admin_client.post(url, {
        "person": person.pk, "source": "bureau", "granted_at_0": "2026-11-30", "granted_at_1": "10:00:00", "evidence": "auth-9",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    consent = CreditCheckConsent.objects.get(person=person)
    assert (consent.source, consent.recorded_by, consent.evidence) == ("bureau", admin_user, "auth-9")
