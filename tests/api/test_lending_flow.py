"""From the first company to a repaid loan, through the API alone."""

from decimal import Decimal

import pytest
from django.utils import timezone

from loans.models import Loan, LoanApplication

pytestmark = pytest.mark.django_db


def apply(api, company_id, *, amount="200000.00", key=None, product="sme-revolving", term=12):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(
        "/api/v1/applications/",
        {"company": company_id, "product": product, "amount": amount, "term_months": term, "purpose": "stock"},
        format="json", **headers,
    )


def test_first_company_to_repaid_loan(api, scored_company):
    # given a company with credit data
    company = scored_company()
    # when it applies
    r = apply(api, company["id"])
    # then the decision is inline
    assert r.status_code == 201, r.json()
    app = r.json()
    assert app["status"] == "approved", app
    assert app["decision"]["outcome"] == "approve"
    assert Decimal(app["approved_limit"]) > 0 and app["tier"] and app["score"]
    assert isinstance(app["reasons"], list)
    assert api.get(f"/api/v1/applications/{app['id']}/").json() == app  # the same view of it
    # and the company now shows its latest score
    detail = api.get(f"/api/v1/companies/{company['id']}/").json()
    assert detail["latest_score"]["score"] == app["score"]

    # when the borrower accepts, a line opens
    r = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json")
    assert r.status_code == 201, r.json()
    line = r.json()
    assert line["status"] == "active" and line["limit_amount"] == app["approved_limit"]
    assert api.get(f"/api/v1/credit-lines/{line['id']}/").status_code == 200

    # when it draws down (twice with one key)
    body = {"amount": "100000.00", "term_months": 6}
    r1 = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", body, format="json", HTTP_IDEMPOTENCY_KEY="draw-1")
    r2 = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", body, format="json", HTTP_IDEMPOTENCY_KEY="draw-1")
    assert r1.status_code == 201, r1.json()
    assert r2.json() == r1.json() and r2["Idempotent-Replayed"] == "true"
    assert Loan.objects.count() == 1
    loan = r1.json()
    assert api.get(f"/api/v1/credit-lines/{line['id']}/").json()["drawn_principal"] == "100000.00"

    # then the loan, its list and its schedule are there
    assert [x["id"] for x in api.get("/api/v1/loans/").json()["results"]] == [loan["id"]]
    assert api.get(f"/api/v1/loans/?status=active&credit_line={line['id']}").json()["results"]
    assert api.get("/api/v1/loans/?status=repaid").json()["results"] == []
    schedule = api.get(f"/api/v1/loans/{loan['id']}/schedule/").json()
    assert len(schedule) == 6

    # when it repays in full today (the same payment reported twice)
    pay = {"amount": loan["outstanding_principal"], "external_ref": "bank-0001", "received_on": timezone.localdate().isoformat()}
    p1 = api.post(f"/api/v1/loans/{loan['id']}/repayments/", pay, format="json")
    p2 = api.post(f"/api/v1/loans/{loan['id']}/repayments/", pay, format="json")
    assert p1.status_code == 201, p1.json()
    assert p2.status_code == 201 and p2.json()["id"] == p1.json()["id"]
    # then the loan is repaid
    assert p1.json()["loan_status"] == "repaid"
    assert api.get(f"/api/v1/loans/{loan['id']}/").json()["status"] == "repaid"
    # and the same reference with another amount is refused
    r = api.post(f"/api/v1/loans/{loan['id']}/repayments/", {**pay, "amount": "1.00"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_conflict"


def test_application_idempotency(api, scored_company):
    company = scored_company()
    r1 = apply(api, company["id"], key="k-1")
    r2 = apply(api, company["id"], key="k-1")
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json()
    assert LoanApplication.objects.count() == 1
    # same key, different body
    r3 = apply(api, company["id"], key="k-1", amount="150000.00")
    assert r3.status_code == 422
    assert r3.json()["error"]["code"] == "idempotency_key_reused"
    assert LoanApplication.objects.count() == 1


def test_idempotency_keys_are_per_partner(api, other_api, scored_company, other_partner):
    company = scored_company()
    assert apply(api, company["id"], key="shared").status_code == 201
    # the other partner's same key is its own; the company is not theirs
    r = apply(other_api, company["id"], key="shared")
    assert r.status_code == 400 and "company" in r.json()["error"]["fields"]


def test_a_failed_request_releases_its_key(api, scored_company):
    company = scored_company()
    assert apply(api, company["id"], key="k-2", product="no-such-product").status_code == 400
    assert apply(api, company["id"], key="k-2").status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-10"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"product": "no-such-product"}, "product"),
        ({"term_months": "x"}, "term_months"),
        ({"company": 999999}, "company"),
    ],
)
def test_bad_application_input_is_400(api, scored_company, body, field):
    company = scored_company()
    data = {"company": company["id"], "product": "sme-revolving", "amount": "100000", "term_months": 12, **body}
    r = api.post("/api/v1/applications/", data, format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"]
    assert LoanApplication.objects.count() == 0


def test_other_partners_objects_are_404(api, other_api, scored_company):
    company = scored_company()
    app = apply(api, company["id"]).json()
    line = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").json()
    loan = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": "1000.00", "term_months": 3}, format="json")
    loan = loan.json()
    for path in (
        f"/api/v1/applications/{app['id']}/",
        f"/api/v1/credit-lines/{line['id']}/",
        f"/api/v1/loans/{loan['id']}/",
        f"/api/v1/loans/{loan['id']}/schedule/",
    ):
        assert other_api.get(path).status_code == 404, path
    assert other_api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").status_code == 404
    assert other_api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": "1000.00", "term_months": 3}, format="json").status_code == 404
    assert other_api.post(f"/api/v1/loans/{loan['id']}/repayments/", {"amount": "1.00", "external_ref": "x"}, format="json").status_code == 404
    assert other_api.get("/api/v1/loans/").json()["results"] == []
    assert other_api.get("/api/v1/applications/").json()["results"] == []


def test_drawdown_beyond_the_limit_is_409(api, scored_company):
    company = scored_company()
    app = apply(api, company["id"]).json()
    line = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").json()
    too_much = str(Decimal(line["limit_amount"]) + 1)
    r = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": too_much, "term_months": 6}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "limit_exceeded"


def test_accepting_twice_is_409(api, scored_company):
    company = scored_company()
    app = apply(api, company["id"]).json()
    assert api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").status_code == 201
    r = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def test_without_credit_data_the_application_is_refused_and_nothing_is_created(api, products, champions):
    from .conftest import company_body

    cid = api.post("/api/v1/companies/", company_body(), format="json").json()["id"]
    r = apply(api, cid)
    assert r.status_code == 409 and r.json()["error"]["code"] == "scoring_unavailable"
    assert LoanApplication.objects.count() == 0


def test_application_post_with_fresh_scores_query_count_is_pinned(api, scored_company, django_assert_num_queries):
    # given a company whose scores the nightly run already made today
    from django.db import connection

    from loans.models import RelatedParty
    from scoring import batch

    company = scored_company()
    today = timezone.localdate()
    batch.score_persons(person_ids=list(RelatedParty.objects.filter(company_id=company["id"]).values_list("person_id", flat=True)), as_of=today)
    batch.score_companies(company_ids=[company["id"]], as_of=today)
    body = {"company": company["id"], "product": "sme-revolving", "amount": "100000.00", "term_months": 12}
    api.post("/api/v1/applications/", body, format="json")  # warm: the policy version is cached per process
    # when / then: key (with its partner), your company, webhook endpoints, savepoint, product with
    # the active policy, company, partner and blocklisted roles (one statement), scores (champions;
    # parties with the latest scores), group and exposure, application, three events (one INSERT),
    # ledger (tail + insert, + advisory lock on PostgreSQL), decision, release.  On PostgreSQL
    # the application and its events are one statement, and so are the ledger entry and the
    # decision (data-modifying CTEs, see loans/rawsql.py insert_together): 14 - 2 + the lock.
    with django_assert_num_queries(14 if connection.vendor != "postgresql" else 13):
        r = api.post("/api/v1/applications/", body, format="json")
    assert r.status_code == 201, r.json()


def test_application_post_body_is_the_serializers_for_every_outcome(api, scored_company):
    # The POST builds its body directly (serializers.application_created_body); the contract
    # is ApplicationSerializer's, which the GET uses.
    from loans.models import Company

    approve, refer, decline = scored_company(), scored_company(), scored_company()
    Company.objects.filter(pk=decline["id"]).update(is_blocklisted=True)
    outcomes = set()
    for company, amount in ((approve, "200000.00"), (refer, "1500000.00"), (decline, "200000.00")):
        r = apply(api, company["id"], amount=amount)
        assert r.status_code == 201, r.json()
        body = r.json()
        outcomes.add(body["decision"]["outcome"])
        assert api.get(f"/api/v1/applications/{body['id']}/").json() == body
    assert outcomes == {"approve", "refer", "decline"}
