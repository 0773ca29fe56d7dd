"""The borrower files moved from the loans app to loans.parties (migrations parties 0001-0002,
loans 0020): a database of the old layout keeps its rows, its permissions and the roles and
users holding them, its admin log and its history."""

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from loans.models import Company as CompanyFromLoans
from loans.parties.models import Company, Person, RelatedParty
from tests.factories import CompanyFactory, RelatedPartyFactory

MOVED = (
    "partner",
    "company",
    "person",
    "relatedparty",
    "historicalpartner",
    "historicalcompany",
    "historicalperson",
    "historicalrelatedparty",
)


def _migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)
    ContentType.objects.clear_cache()


@pytest.fixture
def before_the_move(transactional_db):
    """The database as it was before the move (the loans app's content types); the latest
    again afterwards, whatever happens."""
    _migrate([("parties", None)])
    try:
        yield
    finally:
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        if executor.migration_plan(leaves):  # the test failed before migrating forward
            _migrate(leaves)


def test_the_models_are_the_parties_apps_on_the_old_tables():
    for model in (Company, Person, RelatedParty, Company.history.model):
        assert model._meta.app_label == "parties"
        assert model._meta.db_table.startswith("loans_")
    assert CompanyFromLoans is Company  # loans keeps naming them
    assert apps.get_app_config("parties").verbose_name == "Borrowers and partners"


def test_rows_permissions_roles_log_and_history_survive_the_move(before_the_move, django_user_model):
    # given a book of the old layout: its rows, a role and a user holding loans' permissions on
    # companies and persons, an admin log entry and a history record of a company
    assert set(ContentType.objects.filter(model__in=MOVED).values_list("app_label", flat=True)) == {"loans"}
    company = CompanyFactory(legal_name="Old Trading Co.")
    company.legal_name = "Old Trading Co. Ltd"
    company.save()
    role = RelatedPartyFactory(company=company)
    view = Permission.objects.get(content_type__app_label="loans", codename="view_company")
    reveal = Permission.objects.get(content_type__app_label="loans", codename="reveal_personal_data")
    officers = Group.objects.create(name="Old officers")
    officers.permissions.add(view)
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    clerk.groups.add(officers)
    clerk.user_permissions.add(reveal)
    log = LogEntry.objects.create(
        user=clerk,
        content_type=ContentType.objects.get(app_label="loans", model="company"),
        object_id=str(company.pk),
        object_repr=str(company),
        action_flag=CHANGE,
        change_message="renamed",
    )
    versions = company.history.count()
    # when the move is migrated
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # then the same content type and permission rows carry the parties label, held as before
    assert set(ContentType.objects.filter(model__in=MOVED).values_list("app_label", flat=True)) == {"parties"}
    assert Permission.objects.get(pk=view.pk).content_type.app_label == "parties"
    assert set(Group.objects.get(pk=officers.pk).permissions.values_list("pk", flat=True)) == {view.pk}
    clerk = django_user_model.objects.get(pk=clerk.pk)
    assert clerk.has_perm("parties.view_company") and clerk.has_perm("parties.reveal_personal_data")
    assert not clerk.has_perm("loans.view_company")
    log = LogEntry.objects.get(pk=log.pk)
    assert log.get_edited_object() == company and log.get_admin_url() == f"/admin/parties/company/{company.pk}/change/"
    # and the rows and their history are where they were
    assert Company.objects.get(pk=company.pk).legal_name == "Old Trading Co. Ltd"
    assert RelatedParty.objects.get(pk=role.pk).person_id == role.person_id
    assert Company.objects.get(pk=company.pk).history.count() == versions >= 2


def test_a_parties_content_type_made_before_the_rename_is_merged(before_the_move, django_user_model):
    # given both: the old loans.company (held by a role) and a parties.company that a migrate
    # created first, with its own view permission
    old_view = Permission.objects.get(content_type__app_label="loans", codename="view_company")
    old_change = Permission.objects.get(content_type__app_label="loans", codename="change_company")
    officers = Group.objects.create(name="Old officers")
    officers.permissions.add(old_view, old_change)
    early = ContentType.objects.create(app_label="parties", model="company")
    new_view = Permission.objects.create(content_type=early, codename="view_company", name="Can view company")
    # when the move is migrated
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # then one content type is left, and the role holds the same rights under it
    assert list(ContentType.objects.filter(model="company").values_list("pk", "app_label")) == [(early.pk, "parties")]
    held = set(Group.objects.get(pk=officers.pk).permissions.values_list("content_type__app_label", "codename"))
    assert held == {("parties", "view_company"), ("parties", "change_company")}
    assert not Permission.objects.filter(pk=old_view.pk).exists() and Permission.objects.filter(pk=new_view.pk).exists()
    assert Permission.objects.get(pk=old_change.pk).content_type_id == early.pk
