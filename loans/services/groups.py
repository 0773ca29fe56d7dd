"""Borrower groups: companies tied by a shared legal representative, actual controller or
majority shareholder (> 50 %), transitively.  A group's exposure is the sum of its open
line limits and is capped by the credit policy.

This is the lender-wide view, so it goes by the real company and the real person, not by
whose file a record is in (borrower files are per partner: README, "Whose data counts"):
records with the same USCC are one company and records with the same resident-ID hash are
one person, whichever partner (or the lender itself) registered them.  Exposure to one real
person is the lender's risk whichever channel brought it.  The three computations below —
the live breadth-first search, the recursive CTE and the union-find rebuild — all join this
way and must give the same groups."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ..choices import CreditLineStatus, Role
from ..models import BorrowerGroupMember, Company, CreditLine, Person, RelatedParty
from ..money import ZERO, money

MAJORITY_PCT = Decimal("50")
OPEN_LINE_STATUSES = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)


def _linking_roles(as_of: datetime.date):
    """Current roles that tie a person to a company for grouping."""
    return RelatedParty.objects.filter(
        Q(role__in=[Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER])
        | Q(role=Role.SHAREHOLDER, ownership_pct__gt=MAJORITY_PCT),
        Q(valid_to__isnull=True) | Q(valid_to__gte=as_of),
        valid_from__lte=as_of,
    )


def is_linking_role(role: str, ownership_pct) -> bool:
    return role in (Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER) or (
        role == Role.SHAREHOLDER and ownership_pct is not None and ownership_pct > MAJORITY_PCT
    )


def _same_company(company_ids) -> set[int]:
    """Every record of the real companies behind ``company_ids`` (same USCC)."""
    same = Company.objects.filter(uscc__in=Company.objects.filter(pk__in=company_ids).values("uscc"))
    return set(same.values_list("pk", flat=True))


def borrower_group_company_ids(*, company_id: int, as_of: datetime.date | None = None, max_rounds: int = 50) -> tuple[int, ...]:
    """The applicant's group, computed live by breadth-first search over real companies
    (USCC) and real persons (resident-ID hash): two indexed queries a round."""
    as_of = as_of or timezone.localdate()
    links = _linking_roles(as_of)
    companies = _same_company([company_id])
    persons: set[str] = set()
    frontier_companies = set(companies)
    for _ in range(max_rounds):
        new_persons = set(
            links.filter(company_id__in=frontier_companies).values_list("person__resident_id_hash", flat=True)
        ) - persons
        if not new_persons:
            break
        persons |= new_persons
        reached = links.filter(person__resident_id_hash__in=new_persons).values("company__uscc")
        frontier_companies = set(Company.objects.filter(uscc__in=reached).values_list("pk", flat=True)) - companies
        if not frontier_companies:
            break
        companies |= frontier_companies
    return tuple(sorted(companies))


_GROUP_SQL = """
WITH RECURSIVE grp(company_id) AS (
    SELECT CAST(c0.id AS BIGINT) FROM {co} c0
    WHERE c0.uscc = (SELECT a.uscc FROM {co} a WHERE a.id = %s)
    UNION
    SELECT CAST(c2.id AS BIGINT)
    FROM grp
    JOIN {rp} l1 ON l1.company_id = grp.company_id AND {link1}
    JOIN {pe} p1 ON p1.id = l1.person_id
    JOIN {pe} p2 ON p2.resident_id_hash = p1.resident_id_hash
    JOIN {rp} l2 ON l2.person_id = p2.id AND {link2}
    JOIN {co} c1 ON c1.id = l2.company_id
    JOIN {co} c2 ON c2.uscc = c1.uscc
)
SELECT grp.company_id, CAST(cl.limit_amount AS TEXT)
FROM grp
LEFT JOIN {cl} cl ON cl.company_id = grp.company_id AND cl.status IN (%s, %s) AND cl.expires_on >= %s
"""
_LINK = (
    "({t}.role IN (%s, %s) OR ({t}.role = %s AND {t}.ownership_pct > %s))"
    " AND {t}.valid_from <= %s AND ({t}.valid_to IS NULL OR {t}.valid_to >= %s)"
)


def borrower_group_exposure(*, company_id: int, as_of: datetime.date) -> tuple[tuple[int, ...], Decimal]:
    """The applicant's group and its open line limits in ONE query: the same transitive
    closure as :func:`borrower_group_company_ids` (a recursive CTE over the linking roles,
    walked through the (company, role) and (person, role) indexes and, between records of one
    real person or company, the resident-ID hash and USCC indexes), joined to the open lines
    of every member.  ``UNION`` (not ``UNION ALL``) makes the walk stop at the first repeat."""
    sql = _GROUP_SQL.format(
        rp=RelatedParty._meta.db_table, cl=CreditLine._meta.db_table, co=Company._meta.db_table,
        pe=Person._meta.db_table, link1=_LINK.format(t="l1"), link2=_LINK.format(t="l2"),
    )
    roles = [str(r.value) for r in (Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER, Role.SHAREHOLDER)]
    link = [*roles, MAJORITY_PCT, as_of, as_of]
    params = [company_id, *link, *link, *(str(s.value) for s in OPEN_LINE_STATUSES), as_of]
    companies, total = set(), ZERO
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for member, limit_text in cur.fetchall():
            companies.add(int(member))
            if limit_text is not None:
                total += Decimal(limit_text)
    return tuple(sorted(companies)), money(total)


def group_open_limits(*, company_ids, as_of: datetime.date | None = None) -> Decimal:
    as_of = as_of or timezone.localdate()
    total = CreditLine.objects.filter(
        company_id__in=company_ids, status__in=OPEN_LINE_STATUSES, expires_on__gte=as_of
    ).aggregate(s=Sum("limit_amount"))["s"]
    return money(total or ZERO)


class _UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller id is the root, so a group's key is its smallest company id
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def borrower_groups_rebuild(*, as_of: datetime.date | None = None, batch_size: int = 5000) -> int:
    """Recompute every company's group with union-find over the linking roles; returns the
    number of groups with more than one company.  Set-based: reads sorted by natural key
    (so that records of one real person or company come together and nothing keyed by hash is
    held in memory), bulk writes."""
    as_of = as_of or timezone.localdate()
    uf = _UnionFind()
    # Records of one real company (same USCC) are one company.
    _union_runs(uf, Company.objects.order_by("uscc", "pk").values_list("uscc", "pk"), batch_size)
    # Companies linked by one real person (same resident-ID hash), whoever's record it is.
    _union_runs(
        uf,
        _linking_roles(as_of).order_by("person__resident_id_hash", "company_id").values_list("person__resident_id_hash", "company_id"),
        batch_size,
    )
    now = timezone.now()
    company_ids = list(Company.objects.values_list("id", flat=True))
    rows = [BorrowerGroupMember(company_id=c, group_key=uf.find(c), refreshed_at=now) for c in company_ids]
    with transaction.atomic():
        BorrowerGroupMember.objects.all().delete()
        BorrowerGroupMember.objects.bulk_create(rows, batch_size=batch_size)
    sizes: dict[int, int] = {}
    for r in rows:
        sizes[r.group_key] = sizes.get(r.group_key, 0) + 1
    return sum(1 for n in sizes.values() if n > 1)


def _union_runs(uf: _UnionFind, key_company_pairs, batch_size: int) -> None:
    """Union the companies of each run of equal keys in (key, company id) rows sorted by key."""
    run_key, first = None, None
    for key, company_id in key_company_pairs.iterator(chunk_size=batch_size):
        if key != run_key:
            run_key, first = key, company_id
        else:
            uf.union(first, company_id)
