"""A full resident ID or phone is shown only with the reveal permission and a reason, and logged."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from config.backoffice.roles import AUDITOR, LOAN_OFFICER
from loans.errors import DomainError
from loans.models import PersonalDataReveal
from loans.services.borrowers import person_personal_data_reveal
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def user(django_user_model, username, role=None, reveal=False):
    from django.contrib.auth.models import Permission

    u = django_user_model.objects.create_user(username, password="x", is_staff=True)
    if role:
        u.groups.add(Group.objects.get(name=role))
    if reveal:
        u.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    return django_user_model.objects.get(pk=u.pk)


@pytest.fixture
def person(db):
    return PersonFactory(phone=PHONE)


def test_reveal_needs_the_permission_and_a_reason_and_is_logged(person, django_user_model):
    officer = user(django_user_model, "o1", LOAN_OFFICER)
    with pytest.raises(DomainError, match="reveal permission"):
        person_personal_data_reveal(person_id=person.pk, field="phone", reason="customer called back", actor=officer)
    revealer = user(django_user_model, "o2", LOAN_OFFICER, reveal=True)
    for bad in ("", "   ", "because"):
        with pytest.raises(ValidationError) as exc:
            person_personal_data_reveal(person_id=person.pk, field="phone", reason=bad, actor=revealer)
        assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        person_personal_data_reveal(person_id=person.pk, field="password", reason="customer called back", actor=revealer)
    assert "field" in exc.value.message_dict
    assert not PersonalDataReveal.objects.exists()
    assert person_personal_data_reveal(person_id=person.pk, field="phone", reason="customer called back", actor=revealer) == PHONE
    full = person_personal_data_reveal(person_id=person.pk, field="resident_id", reason="KYC re-check, ticket 42", actor=revealer)
    assert full == person.reveal_resident_id() and full != person.resident_id_masked
    log = list(PersonalDataReveal.objects.order_by("id").values_list("person_id", "field", "reason", "revealed_by__username"))
    assert log == [(person.pk, "phone", "customer called back", "o2"), (person.pk, "resident_id", "KYC re-check, ticket 42", "o2")]


def test_the_admin_shows_masked_values_and_reveals_only_on_request(person, django_user_model, client):
    auditor = user(django_user_model, "a1", AUDITOR)
    client.force_login(auditor)
    page = client.get(reverse("admin:parties_person_change", args=[person.pk])).content.decode()
    assert person.resident_id_masked in page and person.reveal_resident_id() not in page and PHONE not in page
    reveal = reverse("admin:parties_person_reveal", args=[person.pk])
    assert client.post(reveal, {"field": "phone", "reason": "just curious, sorry"}).status_code == 403
    revealer = user(django_user_model, "r1", LOAN_OFFICER, reveal=True)
    client.force_login(revealer)
    refused = client.post(reveal, {"field": "phone", "reason": "short"})
    assert refused.status_code == 200 and PHONE not in refused.content.decode()
    shown = client.post(reveal, {"field": "phone", "reason": "customer asked for a call back"})
    assert PHONE in shown.content.decode()
    assert PersonalDataReveal.objects.get().revealed_by == revealer
