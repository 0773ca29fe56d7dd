import pytest

from loans import selectors
from loans.errors import NotFound
from loans.services.lines import credit_line_draw_down

pytestmark = pytest.mark.django_db


def test_loan_get_costs_three_queries(make_line, django_assert_num_queries):
    line = make_line()
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="1000", term_months=3)
    with django_assert_num_queries(3):
        got = selectors.loan_get(loan_id=loan.pk)
        assert len(got.installments.all()) == 3 and list(got.repayments.all()) == []


def test_application_list_is_one_query(make_line, django_assert_num_queries):
    make_line()
    make_line()
    with django_assert_num_queries(1):
        assert [a.company.legal_name for a in selectors.application_list()]


def test_partner_scoping_hides_other_partners_objects(make_line):
    line = make_line()
    with pytest.raises(NotFound):
        selectors.credit_line_get(credit_line_id=line.pk, partner_id=999)


def test_portfolio_by_bucket(make_line):
    line = make_line()
    credit_line_draw_down(credit_line_id=line.pk, amount="1000", term_months=3)
    assert selectors.portfolio_by_bucket()[0]["loans"] == 1
