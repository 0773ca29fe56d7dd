"""Change history: who changed what and when, through a service and through the admin."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from config.history.records import acting_as
from loans.models import CreditLine, CreditPolicy, LoanProduct, Person
from loans.services.lines import credit_line_freeze, credit_line_reduce_limit
from loans.services.policy import credit_policy_active, credit_policy_approve, credit_policy_propose
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def changed_fields(record) -> set[str]:
    return {c.field for c in record.diff_against(record.prev_record).changes} - {"updated_at"}


def test_a_service_records_its_actor_and_the_fields_it_changed(make_line, officer, django_user_model):
    # given a booked line and a risk manager outside any request (a task, the shell)
    line = make_line()
    manager = django_user_model.objects.create_user("risk", password="x", is_staff=True)
    # when the risk manager freezes it and cuts its limit through the services
    credit_line_freeze(credit_line_id=line.pk, actor=manager)
    credit_line_reduce_limit(credit_line_id=line.pk, new_limit=Decimal("100000.00"), actor=manager)
    # then each change is kept with who made it and which fields changed
    latest, frozen = CreditLine.objects.get(pk=line.pk).history.all()[:2]
    assert (latest.history_user, frozen.history_user) == (manager, manager)
    assert changed_fields(frozen) == {"status"}
    assert changed_fields(latest) == {"limit_amount"}
    assert latest.limit_amount == Decimal("100000.00") and frozen.limit_amount > latest.limit_amount
    # and the line's creation names the officer who booked it
    assert line.history.earliest().history_user == officer


def test_publishing_a_policy_keeps_the_new_version_and_the_retired_one(django_user_model):
    from django.contrib.auth.models import Permission

    publish = Permission.objects.get(codename="publish_policy")
    maker, manager = (django_user_model.objects.create_user(name, password="x", is_staff=True) for name in ("maker", "risk"))
    for user in (maker, manager):
        user.user_permissions.add(publish)
    maker, manager = (django_user_model.objects.get(pk=u.pk) for u in (maker, manager))
    old = credit_policy_active()
    new = credit_policy_propose(changes={"min_score": 640}, actor=maker, note="tighter")
    credit_policy_approve(policy_id=new.pk, actor=manager)
    proposed, published = new.history.order_by("history_id")
    assert proposed.history_user == maker and proposed.min_score == 640 and proposed.is_active is False
    assert published.history_user == manager and published.is_active is True and published.approved_by_id == manager.pk
    retired = CreditPolicy.objects.get(pk=old.pk).history.first()
    assert retired.is_active is False and retired.history_user == manager


def test_an_actor_that_is_not_a_user_records_no_user():
    with acting_as("nightly-run"):
        product = LoanProduct.objects.create(
            code="p1", name="P", kind="revolving", repayment_method="equal_installment",
            min_amount=1, max_amount=2, min_term_months=1, max_term_months=2,
        )
    assert product.history.get().history_user is None


def test_person_history_keeps_no_ciphertext_nor_clear_identity_number():
    person = PersonFactory(phone="13812345678")
    record = person.history.get()
    fields = {f.name for f in record._meta.fields}
    assert "resident_id_encrypted" not in fields and "phone_encrypted" not in fields
    assert record.resident_id_masked == person.resident_id_masked
    values = " ".join(str(getattr(record, f)) for f in fields)
    assert person.reveal_resident_id() not in values and "13812345678" not in values


@pytest.fixture
def admin_client_user(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_change_in_the_admin_records_the_request_user(admin_client_user, admin_user):
    # given a product
    product = LoanProduct.objects.create(
        code="p1", name="Old name", kind="revolving", repayment_method="equal_installment",
        min_amount=1000, max_amount=2000, min_term_months=1, max_term_months=12,
    )
    url = reverse("admin:loans_loanproduct_change", args=[product.pk])
    form = admin_client_user.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    data["name"] = "New name"
    # when an administrator renames it in the admin
    response = admin_client_user.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # then the history names the administrator and the field
    record = LoanProduct.objects.get(pk=product.pk).history.first()
    assert record.history_user == admin_user and record.name == "New name"
    assert "name" in changed_fields(record)
    # and the history view shows who changed what
    page = admin_client_user.get(reverse("admin:loans_loanproduct_history", args=[product.pk]))
    assert page.status_code == 200
    assert admin_user.username in page.content.decode() and "New name" in page.content.decode()


def test_a_role_s_permissions_are_kept_in_its_history(admin_client_user, admin_user):
    group = Group.objects.create(name="Branch auditors")  # not a declared role: its permissions are the admin's
    perm = Permission.objects.get(codename="view_creditline")
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = admin_client_user.post(url, {"name": "Branch auditors", "permissions": [perm.pk]})
    assert response.status_code == 302
    record = Group.objects.get(pk=group.pk).history.first()
    assert record.history_user == admin_user
    assert [p.permission_id for p in record.permissions.all()] == [perm.pk]


def test_the_history_views_need_the_view_permission(client, django_user_model):
    person = PersonFactory()
    record = person.history.get()
    history_url = reverse("admin:parties_person_history", args=[person.pk])
    version_url = reverse("admin:parties_person_simple_history", args=[person.pk, record.history_id])
    # a staff member without the view permission is refused both
    nobody = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(nobody)
    assert client.get(history_url).status_code == 403
    assert client.get(version_url).status_code == 403
    # with it, both open, and a version cannot be reverted
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_person"))
    client.force_login(viewer)
    assert client.get(history_url).status_code == 200
    assert client.get(version_url).status_code == 200
    assert client.post(version_url, {"name": "Changed"}).status_code == 403
    assert Person.objects.get(pk=person.pk).name == person.name


def test_the_latest_changes_beside_the_ledger_show_only_what_the_user_may_view(make_line, client, django_user_model):
    # given a booked line frozen by a risk manager, and a product created
    line = make_line()
    manager = django_user_model.objects.create_user("risk", password="x", is_staff=True)
    credit_line_freeze(credit_line_id=line.pk, actor=manager)
    url = reverse("admin:loans_ledgerentry_changes")
    # a user who may not read the ledger is refused
    client.force_login(django_user_model.objects.create_user("nobody", password="x", is_staff=True))
    assert client.get(url).status_code == 403
    # one who reads the ledger and credit lines sees the line's changes, not the products'
    auditor = django_user_model.objects.create_user("auditor", password="x", is_staff=True)
    auditor.user_permissions.set(Permission.objects.filter(codename__in=["view_ledgerentry", "view_creditline"]))
    client.force_login(auditor)
    response = client.get(url)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {r["model"] for r in rows} == {"credit line"}
    assert rows[0]["who"] == manager and rows[0]["changed"] == "status"
    assert 'href="' + reverse("admin:loans_creditline_history", args=[line.pk]) in response.content.decode()
