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
import functools
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ..choices import CreditLineStatus, Role
from ..models import BorrowerGroupMember, Company, CreditLine, Person, RelatedParty, role_current_on_sql
from ..money import ZERO, money

MAJORITY_PCT = Decimal("50")
OPEN_LINE_STATUSES = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)
# The roles that tie a person to a company for grouping; a shareholder only above MAJORITY_PCT.
LINKING_ROLES = (Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER)


def _linking_roles(as_of: datetime.date):
    """Current roles that tie a person to a company for grouping (the rule :data:`_LINK` says in SQL)."""
    return RelatedParty.objects.current_on(as_of).filter(
        Q(role__in=LINKING_ROLES) | Q(role=Role.SHAREHOLDER, ownership_pct__gt=MAJORITY_PCT)
    )


def _link_sql(alias: str) -> str:
    """:func:`_linking_roles` as SQL over ``RelatedParty`` as ``alias``; parameters from :func:`_link_params`."""
    col = {n: f'{alias}."{RelatedParty._meta.get_field(n).column}"' for n in ("role", "ownership_pct")}
    return (
        f"({col['role']} IN (%s, %s) OR ({col['role']} = %s AND {col['ownership_pct']} > %s))"
        f" AND {role_current_on_sql(alias)}"
    )


def _link_params(as_of: datetime.date) -> list:
    return [*(str(r.value) for r in LINKING_ROLES), str(Role.SHAREHOLDER.value), MAJORITY_PCT, as_of, as_of]


@functools.cache
def _group_sql() -> str:
    """The transitive closure over the linking roles from one company, joined to the open lines
    of every member; table and column names from the models' metadata."""
    rp, pe, co, cl = (m._meta for m in (RelatedParty, Person, Company, CreditLine))

    def c(meta, name):
        return f'"{meta.get_field(name).column}"'

    co_id, uscc, rp_company, rp_person = c(co, "id"), c(co, "uscc"), c(rp, "company"), c(rp, "person")
    return f"""
WITH RECURSIVE grp(company_id) AS (
    SELECT CAST(c0.{co_id} AS BIGINT) FROM "{co.db_table}" c0
    WHERE c0.{uscc} = (SELECT a.{uscc} FROM "{co.db_table}" a WHERE a.{co_id} = %s)
    UNION
    SELECT CAST(c2.{co_id} AS BIGINT)
    FROM grp
    JOIN "{rp.db_table}" l1 ON l1.{rp_company} = grp.company_id AND {_link_sql("l1")}
    JOIN "{pe.db_table}" p1 ON p1.{c(pe, "id")} = l1.{rp_person}
    JOIN "{pe.db_table}" p2 ON p2.{c(pe, "resident_id_hash")} = p1.{c(pe, "resident_id_hash")}
    JOIN "{rp.db_table}" l2 ON l2.{rp_person} = p2.{c(pe, "id")} AND {_link_sql("l2")}
    JOIN "{co.db_table}" c1 ON c1.{co_id} = l2.{rp_company}
    JOIN "{co.db_table}" c2 ON c2.{uscc} = c1.{uscc}
)
SELECT grp.company_id, CAST(cl.{c(cl, "limit_amount")} AS TEXT)
FROM grp
LEFT JOIN "{cl.db_table}" cl ON cl.{c(cl, "company")} = grp.company_id AND cl.{c(cl, "status")} IN (%s, %s)
    AND cl.{c(cl, "expires_on")} >= %s
"""


def borrower_group_exposure(*, company_id: int, as_of: datetime.date | None = None) -> tuple[tuple[int, ...], Decimal]:
    """The company's borrower group, live, and its open line limits, in ONE query: a recursive
    CTE over the linking roles, walked through the (company, role) and (person, role) indexes
    and, between records of one real person or company, the resident-ID hash and USCC indexes,
    joined to the open lines of every member.  ``UNION`` (not ``UNION ALL``) makes the walk stop
    at the first repeat.  The same groups as :func:`borrower_groups_rebuild` stores for every
    company at once (tests/loans/test_borrower_files.py compares them on a random book)."""
    as_of = as_of or timezone.localdate()
    day = connection.ops.adapt_datefield_value(as_of)
    link = _link_params(day)
    params = [company_id, *link, *link, *(str(s.value) for s in OPEN_LINE_STATUSES), day]
    companies, total = set(), ZERO
    with connection.cursor() as cur:
        cur.execute(_group_sql(), params)
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
