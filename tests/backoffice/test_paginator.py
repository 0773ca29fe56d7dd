"""The huge tables' lists show an estimated count unfiltered and an exact one filtered."""

import pytest
from django.db import connection

from config.backoffice import paginator as module
from config.backoffice.paginator import EstimatedCountPaginator
from loans.models import Company
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_small_or_filtered_lists_are_counted_exactly():
    CompanyFactory.create_batch(3)
    assert EstimatedCountPaginator(Company.objects.order_by("pk"), 2).count == 3
    assert EstimatedCountPaginator(Company.objects.filter(pk__lt=0).order_by("pk"), 2).count == 0


@pytest.mark.postgres
def test_an_unfiltered_huge_table_shows_the_planners_estimate(on_postgres, monkeypatch):
    # given: the planner's statistics say the table holds 5 rows while 7 are there
    CompanyFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Company._meta.db_table}")
    CompanyFactory.create_batch(2)
    monkeypatch.setattr(module, "EXACT_BELOW", 1)
    # then: no count(*) for the whole table; a filtered list still counts
    assert EstimatedCountPaginator(Company.objects.order_by("pk"), 2).count == 5
    assert EstimatedCountPaginator(Company.objects.filter(pk__gt=0).order_by("pk"), 2).count == 7
