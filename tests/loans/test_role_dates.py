""""A role current on a date", defined once (loans.models.role_current_on) and said the same
in raw SQL (role_current_on_sql): both pick the same roles on the edge days."""

import datetime

import pytest
from django.db import connection

from loans.models import RelatedParty, role_current_on_sql
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 2)
ONE = datetime.timedelta(days=1)


def test_the_queryset_and_the_sql_agree_on_the_edge_days():
    company = CompanyFactory()
    roles = {
        "held": (DAY - 9 * ONE, None),
        "begins today": (DAY, None),
        "ends today": (DAY - 9 * ONE, DAY),  # valid_to is the last day held
        "ended yesterday": (DAY - 9 * ONE, DAY - ONE),
        "begins tomorrow": (DAY + ONE, None),
    }
    ids = {}
    for name, (start, end) in roles.items():
        rp = RelatedPartyFactory(company=company, person=PersonFactory(), role="director", valid_from=start, valid_to=end)
        ids[rp.pk] = name
    by_orm = {ids[pk] for pk in RelatedParty.objects.current_on(DAY).filter(company=company).values_list("pk", flat=True)}
    day = connection.ops.adapt_datefield_value(DAY)
    table = RelatedParty._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f'SELECT rp."id" FROM "{table}" rp WHERE rp."company_id" = %s AND {role_current_on_sql("rp")}', [company.pk, day, day])
        by_sql = {ids[pk] for (pk,) in cur.fetchall()}
        # the form the warning rules use: their statements take named parameters
        cur.execute(f'SELECT rp."id" FROM "{table}" rp WHERE rp."company_id" = %(company)s AND {role_current_on_sql("rp", "%(as_of)s")}',
                    {"company": company.pk, "as_of": day})
        by_named_sql = {ids[pk] for (pk,) in cur.fetchall()}
    assert by_orm == by_sql == by_named_sql == {"held", "begins today", "ends today"}
