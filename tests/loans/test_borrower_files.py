"""Borrower files are per partner (README, "Whose data counts"): the records, the database's
constraints, trusted data across files, and the lender-wide view by natural key."""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from config.demo.identities import make_resident_id, make_uscc
from loans.choices import CreditLineStatus, Role
from loans.models import BorrowerGroupMember, Company, CreditLine, Partner, Person, RelatedParty
from loans.parties import identity
from loans.services.borrowers import company_register, person_get_or_create, related_party_add
from loans.services.groups import borrower_group_exposure, borrower_groups_rebuild
from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot
from scoring.services import credit_snapshot_record
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db
rng = random.Random(1111)
AS_OF = datetime.date(2026, 3, 2)


def rid() -> str:
    return make_resident_id(rng, datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(12000)))


@pytest.fixture
def a(db):
    return Partner.objects.create(name="Channel A")


@pytest.fixture
def b(db):
    return Partner.objects.create(name="Channel B")


def person(number: str, partner=None, name="张三") -> Person:
    return PersonFactory(resident_id=number, partner=partner, name=name)


# --- the records and the database's constraints ----------------------------------------------


def test_one_resident_id_is_one_record_per_file_and_the_database_says_so(a, b):
    number = rid()
    person(number, a), person(number, b), person(number, None)  # one per file: fine
    for partner, constraint in ((a, "person_id_unique_per_partner"), (None, "person_id_unique_lender")):
        with pytest.raises(IntegrityError) as exc, transaction.atomic():
            person(number, partner)
        assert constraint in str(exc.value) or "UNIQUE" in str(exc.value).upper()
    assert Person.objects.filter(resident_id_hash=identity.lookup_hash(number)).count() == 3


def test_one_uscc_is_one_company_per_file_and_the_database_says_so(a, b):
    uscc = make_uscc(rng)
    CompanyFactory(uscc=uscc, partner=a), CompanyFactory(uscc=uscc, partner=b), CompanyFactory(uscc=uscc)
    for partner, constraint in ((b, "company_uscc_unique_per_partner"), (None, "company_uscc_unique_lender")):
        with pytest.raises(IntegrityError) as exc, transaction.atomic():
            CompanyFactory(uscc=uscc, partner=partner)
        assert constraint in str(exc.value) or "UNIQUE" in str(exc.value).upper()
    # model validation (the admin's forms) names the rule in words
    with pytest.raises(ValidationError) as exc:
        Company(uscc=uscc, partner=None).validate_constraints()
    assert "The lender already has its own company with this USCC." in str(exc.value)


def test_registration_finds_or_creates_within_the_partner_only(a, b):
    number = rid()
    theirs, created_b = person_get_or_create(name="王芳", resident_id=number, partner=b)
    mine, created_a = person_get_or_create(name="李四", resident_id=number, partner=a)
    again, created_again = person_get_or_create(name="别名", resident_id=number, partner=a)
    assert created_b and created_a and not created_again
    assert mine.pk != theirs.pk and again.pk == mine.pk and again.name == "李四"


def test_a_company_and_its_parties_share_one_file(a, b):
    company = CompanyFactory(partner=a)
    stranger = person(rid(), b)
    with pytest.raises(ValidationError) as exc:
        related_party_add(company=company, person=stranger, role=Role.DIRECTOR)
    assert "person" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        RelatedParty(company=company, person=stranger, role=Role.DIRECTOR, valid_from=AS_OF).full_clean()
    assert "person" in exc.value.message_dict
    assert not company.related_parties.exists()


def test_the_admin_person_form_allows_one_record_per_file(client, django_user_model, a):
    client.force_login(django_user_model.objects.create_superuser("boss", "", "pw"))
    number = rid()
    person(number, None)
    url = reverse("admin:parties_person_add")
    taken = client.post(url, {"name": "重复", "resident_id": number, "phone": ""})
    assert taken.status_code == 200 and "already has a person with this resident ID" in taken.content.decode()
    assert client.post(url, {"name": "甲方的", "resident_id": number, "phone": "", "partner": a.pk}).status_code == 302
    assert Person.objects.filter(resident_id_hash=identity.lookup_hash(number)).count() == 2


# --- trusted data reaches every file; a partner's reaches its own -----------------------------


def test_bureau_data_reaches_every_record_of_the_person_and_partner_data_only_its_own(a, b):
    number = rid()
    mine, theirs, lenders = person(number, a), person(number, b), person(number, None)
    # when a bureau reports on the person through one record, and a partner through its own
    credit_snapshot_record(subject_kind="person", subject_id=theirs.pk, as_of=AS_OF, features={"defaults_60m": 2},
                           in_default=True, source="bureau")
    credit_snapshot_record(subject_kind="person", subject_id=mine.pk, as_of=AS_OF + datetime.timedelta(days=1),
                           features={"defaults_60m": 0}, source="partner")
    # then every record carries the bureau's observation, and only A's carries A's
    by_record = {}
    for snap in PersonCreditSnapshot.objects.order_by("as_of"):
        by_record.setdefault(snap.person_id, []).append((snap.source, snap.in_default, snap.defaults_60m))
    assert by_record == {
        mine.pk: [("bureau", True, 2), ("partner", False, 0)],
        theirs.pk: [("bureau", True, 2)],
        lenders.pk: [("bureau", True, 2)],
    }


def test_trusted_company_data_reaches_every_record_of_the_company_without_overwriting(a, b):
    uscc = make_uscc(rng)
    mine, theirs = CompanyFactory(uscc=uscc, partner=a), CompanyFactory(uscc=uscc, partner=b)
    CompanyFactory()  # another company altogether
    credit_snapshot_record(subject_kind="company", subject_id=mine.pk, as_of=AS_OF, features={"lawsuits_24m": 0}, source="partner")
    # when the lender's own book reports on the same day
    credit_snapshot_record(subject_kind="company", subject_id=theirs.pk, as_of=AS_OF, features={"lawsuits_24m": 7}, source="lender")
    # then B's record has it; A's own snapshot of that day stands (append-only)
    assert sorted(CompanyCreditSnapshot.objects.values_list("company_id", "source", "lawsuits_24m")) == sorted(
        [(mine.pk, "partner", 0), (theirs.pk, "lender", 7)]
    )


def test_a_new_file_starts_with_the_bureau_view_and_the_lender_blocklist(a, b):
    # given a person and a company the lender knows: bureau data, a partner's data, blocklisted
    number, uscc = rid(), make_uscc(rng)
    known = person(number, b)
    credit_snapshot_record(subject_kind="person", subject_id=known.pk, as_of=AS_OF, features={"defaults_60m": 3}, source="bureau")
    credit_snapshot_record(subject_kind="person", subject_id=known.pk, as_of=AS_OF + datetime.timedelta(days=1),
                           features={"defaults_60m": 0}, source="partner")
    Person.objects.filter(pk=known.pk).update(is_blocklisted=True)
    known_company = CompanyFactory(uscc=uscc, is_blocklisted=True)
    credit_snapshot_record(subject_kind="company", subject_id=known_company.pk, as_of=AS_OF, features={"lawsuits_24m": 9})
    # when partner A onboards them
    company = company_register(
        legal_name="甲方客户有限公司", uscc=uscc, industry="F", province="31", founded_on=datetime.date(2016, 1, 1),
        registered_capital="1.00", employees=1, annual_revenue="1.00", partner=a,
        related_parties=[{"name": "李四", "id_number": number, "role": "legal_representative"}],
    )
    # then A's new records carry the trusted data and the blocklist, not B's own data
    mine = company.related_parties.get().person
    assert mine.pk != known.pk and mine.is_blocklisted and company.is_blocklisted and company.pk != known_company.pk
    assert list(mine.credit_snapshots.values_list("source", "defaults_60m")) == [("bureau", 3)]
    assert list(company.credit_snapshots.values_list("source", "lawsuits_24m")) == [("bureau", 9)]


def test_the_admin_blocklist_reaches_every_record_of_the_person(client, django_user_model, a, b):
    client.force_login(django_user_model.objects.create_superuser("boss", "", "pw"))
    number = rid()
    mine, theirs = person(number, a, "甲"), person(number, b, "乙")
    r = client.post(reverse("admin:parties_person_change", args=[mine.pk]),
                    {"name": "甲", "is_blocklisted": "on", "partner": a.pk, "resident_id": "", "phone": ""})
    assert r.status_code == 302
    theirs.refresh_from_db()
    assert theirs.is_blocklisted


# --- the lender-wide view: groups by natural key ------------------------------------------------


def _line(company, limit):
    product = LoanProductFactory(code="grp")
    return CreditLine.objects.create(company=company, product=product, partner=company.partner, limit_amount=Decimal(limit),
                                     annual_rate=Decimal("0.08"), status=CreditLineStatus.ACTIVE, opened_on=AS_OF,
                                     expires_on=AS_OF + datetime.timedelta(days=365))


def _groups_both_ways(company_ids):
    """One company's group live (the CTE) and every group at once (union-find): the same."""
    borrower_groups_rebuild(as_of=AS_OF)
    keys = dict(BorrowerGroupMember.objects.values_list("company_id", "group_key"))
    out = {}
    for cid in company_ids:
        cte, _ = borrower_group_exposure(company_id=cid, as_of=AS_OF)
        rebuilt = tuple(sorted(c for c, k in keys.items() if k == keys[cid]))
        assert cte == rebuilt, (cid, cte, rebuilt)
        out[cid] = cte
    return out


def test_one_real_person_ties_companies_across_partners_and_their_exposure_adds_up(a, b):
    # given one person who is legal representative at A's company and controller at B's
    number = rid()
    ca, cb, alone = CompanyFactory(partner=a), CompanyFactory(partner=b), CompanyFactory(partner=a)
    RelatedPartyFactory(company=ca, person=person(number, a), role=Role.LEGAL_REPRESENTATIVE)
    RelatedPartyFactory(company=cb, person=person(number, b), role=Role.ACTUAL_CONTROLLER)
    _line(cb, "700000")
    # then the two computations agree: one group, whose exposure counts B's line
    groups = _groups_both_ways([ca.pk, cb.pk, alone.pk])
    assert groups[ca.pk] == tuple(sorted((ca.pk, cb.pk))) and groups[alone.pk] == (alone.pk,)
    assert borrower_group_exposure(company_id=ca.pk, as_of=AS_OF)[1] == Decimal("700000.00")


def test_one_real_company_in_two_files_is_one_group(a, b):
    uscc = make_uscc(rng)
    ca, cb = CompanyFactory(uscc=uscc, partner=a), CompanyFactory(uscc=uscc, partner=b)
    _line(ca, "300000"), _line(cb, "200000")
    assert _groups_both_ways([ca.pk, cb.pk])[ca.pk] == tuple(sorted((ca.pk, cb.pk)))
    assert borrower_group_exposure(company_id=cb.pk, as_of=AS_OF)[1] == Decimal("500000.00")


def test_the_two_group_computations_agree_on_a_random_book(a, b):
    # given 40 companies in three files, 25 real persons, some USCCs registered twice
    gen = random.Random(7)
    files = [a, b, None]
    numbers = [rid() for _ in range(25)]
    usccs = [make_uscc(gen) for _ in range(32)]
    records: dict[tuple, Person] = {}
    companies = []
    for i in range(40):
        partner = files[i % 3]
        uscc = usccs[i % 32] if Company.objects.filter(uscc=usccs[i % 32], partner=partner).count() == 0 else make_uscc(gen)
        company = CompanyFactory(uscc=uscc, partner=partner)
        companies.append(company.pk)
        held = Decimal("0")
        for _ in range(gen.randrange(0, 3)):
            number = gen.choice(numbers)
            key = (number, partner.pk if partner else None)
            if key not in records:
                records[key] = person(number, partner)
            role, pct = gen.choice([(Role.LEGAL_REPRESENTATIVE, None), (Role.DIRECTOR, None),
                                    (Role.SHAREHOLDER, Decimal("51")), (Role.SHAREHOLDER, Decimal("20"))])
            if (pct or 0) + held > 100 or RelatedParty.objects.filter(company=company, person=records[key], role=role).exists():
                continue
            held += pct or 0
            # some roles ended before AS_OF, some begin after it: neither groups on AS_OF
            valid_from, valid_to = gen.choice([(datetime.date(2015, 3, 1), None)] * 4 + [
                (datetime.date(2015, 3, 1), AS_OF - datetime.timedelta(days=1)),
                (datetime.date(2015, 3, 1), AS_OF), (AS_OF + datetime.timedelta(days=1), None)])
            RelatedPartyFactory(company=company, person=records[key], role=role, ownership_pct=pct,
                                valid_from=valid_from, valid_to=valid_to)
    # then the recursive CTE and union-find give the same group for every company
    groups = _groups_both_ways(companies)
    assert any(len(g) > 2 for g in groups.values())


# --- existing rows: the migration ------------------------------------------------------------------


@pytest.fixture
def before_per_partner_files(transactional_db):
    """The schema as it was before the migration; the latest again afterwards, whatever happens."""
    executor = MigrationExecutor(connection)
    before = [("loans", "0006_admin_action_permissions"), ("scoring", "0004_score_documents_json")]
    executor.migrate(before[:1])
    try:
        yield executor.loader.project_state(before).apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_migration_gives_each_file_its_own_record_and_remasks(before_per_partner_files):
    # given the book as it was: one person record shared by partner B's and partner A's companies
    old = before_per_partner_files
    OldPartner, OldCompany, OldPerson, OldRole = (old.get_model("loans", n) for n in ("Partner", "Company", "Person", "RelatedParty"))
    OldSnapshot = old.get_model("scoring", "PersonCreditSnapshot")
    pa, pb = OldPartner.objects.create(name="A"), OldPartner.objects.create(name="B")
    number = make_resident_id(random.Random(2), datetime.date(1980, 3, 9), "440305")
    shared = OldPerson.objects.create(
        name="王芳", resident_id_hash=identity.lookup_hash(number), resident_id_encrypted=identity.encrypt(number),
        resident_id_masked=number[:6] + "*" * 8 + number[-4:], birth_date=datetime.date(1980, 3, 9), partner=pb,
    )
    fields = dict(industry="F", province="44", founded_on=datetime.date(2015, 1, 1), registered_capital=1, employees=1, annual_revenue=1)
    cb = OldCompany.objects.create(legal_name="B's", uscc=make_uscc(random.Random(3)), partner=pb, **fields)
    ca = OldCompany.objects.create(legal_name="A's", uscc=make_uscc(random.Random(4)), partner=pa, **fields)
    cl = OldCompany.objects.create(legal_name="lender's", uscc=make_uscc(random.Random(5)), partner=None, **fields)
    for company in (cb, ca, cl):
        OldRole.objects.create(company=company, person=shared, role="legal_representative", valid_from=datetime.date(2015, 1, 1))
    OldSnapshot.objects.create(person=shared, as_of=AS_OF, source="bureau", defaults_60m=1)
    # when the migration runs
    executor = MigrationExecutor(connection)
    executor.migrate([("loans", "0007_per_partner_borrower_files")])
    # then every file has its own record of the person, with the data the shared one had
    records = {p.partner_id: p for p in Person.objects.filter(resident_id_hash=identity.lookup_hash(number))}
    assert set(records) == {pa.pk, pb.pk, None} and records[pb.pk].pk == shared.pk
    for company_id, partner_id in ((cb.pk, pb.pk), (ca.pk, pa.pk), (cl.pk, None)):
        assert RelatedParty.objects.get(company_id=company_id).person_id == records[partner_id].pk
    for p in records.values():
        assert p.resident_id_masked == number[:2] + "*" * 12 + number[-4:] and p.birth_year == 1980
        assert p.reveal_resident_id() == number and p.name == "王芳"
        assert list(p.credit_snapshots.values_list("source", "defaults_60m")) == [("bureau", 1)]
