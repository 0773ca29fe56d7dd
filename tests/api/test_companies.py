import pytest

from loans.models import Company

from .conftest import company_body

pytestmark = pytest.mark.django_db


def test_register_company_with_people_masks_id_numbers(api, partner):
    # given
    body = company_body()
    # when
    r = api.post("/api/v1/companies/", body, format="json")
    # then
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["name"] == body["name"] and data["uscc"] == body["uscc"]
    assert Company.objects.get(pk=data["id"]).partner == partner
    ids = [p["id_number"] for p in data["related_parties"]]
    assert all("********" in i for i in ids)
    assert not any(p["id_number"] in r.content.decode() for p in body["related_parties"])
    assert data["latest_score"] is None


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"uscc": "91310000ABCDEFGHI1"}, "uscc"),
        ({"employees": "many"}, "employees"),
        ({"registered_capital": "-5"}, "registered_capital"),
        ({"industry": "Z"}, "industry"),
        ({"founded_on": "yesterday"}, "founded_on"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_company_fields_are_400_with_field_errors(api, overrides, field):
    r = api.post("/api/v1/companies/", company_body(**overrides), format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"]
    assert Company.objects.count() == 0


def test_missing_fields_are_listed(api):
    r = api.post("/api/v1/companies/", {}, format="json")
    assert r.status_code == 400
    assert {"name", "uscc", "industry", "province"} <= set(r.json()["error"]["fields"])


def test_bad_resident_id_names_the_party(api):
    body = company_body()
    body["related_parties"][1]["id_number"] = "110101198001010000"
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code == 400
    assert "related_parties[1].id_number" in r.json()["error"]["fields"]
    assert Company.objects.count() == 0


def test_duplicate_uscc_is_400(api):
    body = company_body()
    assert api.post("/api/v1/companies/", body, format="json").status_code == 201
    body["related_parties"] = []
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code == 400
    assert "uscc" in r.json()["error"]["fields"]


def test_another_partners_company_is_404(api, other_api):
    cid = api.post("/api/v1/companies/", company_body(), format="json").json()["id"]
    assert other_api.get(f"/api/v1/companies/{cid}/").status_code == 404
    assert other_api.post(f"/api/v1/companies/{cid}/credit-data/", {"as_of": "2026-01-01", "company": {}}, format="json").status_code == 404
    assert other_api.get("/api/v1/companies/").json()["results"] == []
    assert api.get(f"/api/v1/companies/{cid}/").status_code == 200


def test_company_list_is_cursor_paginated_and_filtered(api):
    for i in range(3):
        api.post("/api/v1/companies/", company_body(industry="C" if i else "F", related_parties=[]), format="json")
    r = api.get("/api/v1/companies/?page_size=2")
    page = r.json()
    assert len(page["results"]) == 2 and page["next"]
    assert len(api.get(page["next"]).json()["results"]) == 1
    assert len(api.get("/api/v1/companies/?industry=C").json()["results"]) == 2
    assert api.get("/api/v1/companies/?cursor=garbage").status_code == 400  # names the cursor, like any bad input


def test_credit_data_then_latest_score_on_detail(scored_company, api):
    company = scored_company()
    # scores are made on demand at the first application; before that, none
    detail = api.get(f"/api/v1/companies/{company['id']}/").json()
    assert detail["latest_score"] is None


def test_credit_data_for_a_stranger_is_400(api, products, champions):
    from .conftest import new_resident_id

    cid = api.post("/api/v1/companies/", company_body(), format="json").json()["id"]
    r = api.post(
        f"/api/v1/companies/{cid}/credit-data/",
        {"as_of": "2026-01-01", "persons": [{"id_number": new_resident_id(), "features": {}}]},
        format="json",
    )
    assert r.status_code == 400
    assert "persons[0].id_number" in r.json()["error"]["fields"]


def test_credit_data_out_of_range_is_400(api):
    cid = api.post("/api/v1/companies/", company_body(), format="json").json()["id"]
    r = api.post(f"/api/v1/companies/{cid}/credit-data/", {"as_of": "2026-01-01", "company": {"lawsuits_24m": -1}}, format="json")
    assert r.status_code == 400
    assert "company.lawsuits_24m" in r.json()["error"]["fields"]


def test_credit_data_needs_something(api):
    cid = api.post("/api/v1/companies/", company_body(), format="json").json()["id"]
    r = api.post(f"/api/v1/companies/{cid}/credit-data/", {"as_of": "2026-01-01"}, format="json")
    assert r.status_code == 400


@pytest.mark.parametrize("body17", ["44030419750312081", "31011519800615123"])
def test_a_person_whose_region_code_is_newer_than_their_birth_is_accepted(api, body17):
    # born 1975 with a Shenzhen Futian number (Futian dates from 1990); born 1980 in Pudong (1992)
    from stdnum.cn import ric

    number = body17 + ric.calc_check_digit(body17 + "0")
    body = company_body()
    body["related_parties"][0]["id_number"] = number
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["related_parties"][0]["id_number"] == number[:2] + "*" * 12 + number[-4:]
