"""What is shown of a resident ID does not give the number away, and a search by the full
number never puts it in a URL (and so in an access log)."""

import datetime
import random
import re
from html import unescape
from pathlib import Path

import pytest
import stdnum
from django.contrib.auth.models import Permission
from django.urls import reverse
from stdnum.iso7064 import mod_11_2

from config.demo.identities import make_resident_id, make_uscc
from loans.models import Partner, Person
from loans.parties import identity
from loans.services.borrowers import company_register, person_get_or_create
from tests.api.conftest import client_for, issue_key

pytestmark = pytest.mark.django_db

# Real-shaped numbers from provinces large and small (Hainan has few counties).
PEOPLE = [
    ("110105", datetime.date(1980, 3, 9)),
    ("310104", datetime.date(1975, 12, 31)),
    ("440305", datetime.date(1991, 2, 28)),
    ("460106", datetime.date(2003, 7, 1)),
    ("520203", datetime.date(2001, 10, 17)),
]


def _county_codes() -> dict[str, dict[str, list[tuple[int, int]]]]:
    """python-stdnum's table of region codes, by province, with the years each was in force:
    the attacker's map (a code in force in the birth year is the likelier one)."""
    by_province: dict[str, dict[str, list[tuple[int, int]]]] = {}
    province = None
    for line in (Path(stdnum.__file__).parent / "cn" / "loc.dat").read_text(encoding="utf-8").splitlines():
        if line[:2].isdigit():
            province = line[:2]
        elif line.startswith("  ") and line[2:6].isdigit() and province:
            periods = []
            for name in line.split('county="', 1)[-1].rstrip('"').split(","):
                start, end = 0, 9999
                if name.startswith("["):
                    a, b = name[1:].split("]")[0].split("-")
                    start, end = int(a or 0), int(b or 9999)
                periods.append((start, end))
            by_province.setdefault(province, {})[province + line[2:6]] = periods
    return by_province


_MONTHS = {m: i for i, m in enumerate(
    ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."], 1)}
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(Jan\.|Feb\.|March|April|May|June|July|Aug\.|Sept\.|Oct\.|Nov\.|Dec\.) (\d{1,2}), (\d{4})"
                        r"|(\d{4})年(\d{1,2})月(\d{1,2})日")


def _dates_shown(text: str) -> set[datetime.date]:
    found = set()
    for m in _FULL_DATE.finditer(text):
        try:
            if m.group(1):
                found.add(datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            elif m.group(4):
                found.add(datetime.date(int(m.group(6)), _MONTHS[m.group(4)], int(m.group(5))))
            else:
                found.add(datetime.date(int(m.group(7)), int(m.group(8)), int(m.group(9))))
        except ValueError:
            pass
    return found


def _years_shown(text: str) -> set[int]:
    return {int(y) for y in re.findall(r"(?<!\d)(19\d\d|20[0-2]\d)(?!\d)", text)}


def _rebuild(masked: str, text: str, counties: dict[str, list[str]]) -> list[list[str]]:
    """The candidates that each piece of shown birth information leaves: numbers that fit the
    visible characters of the mask, a region code of the table and a valid check digit."""
    assert len(masked) == 18
    known = {i: c for i, c in enumerate(masked) if c != "*"}
    regions = {r: p for r, p in counties.get(masked[:2], {}).items() if all(r[i] == known[i] for i in range(6) if i in known)}
    tail = masked[14:]
    sources = [[d] for d in _dates_shown(text)]
    for year in _years_shown(text):
        start = datetime.date(year, 1, 1)
        sources.append([start + datetime.timedelta(days=n) for n in range((datetime.date(year + 1, 1, 1) - start).days)])
    out = []
    for days in sources:
        for in_force_only in (True, False):  # the likelier codes first, then every code
            out.append(_candidates(regions, days, tail, known, in_force_only))
    return out


_WEIGHTS = [pow(2, 17 - i, 11) for i in range(18)]  # ISO 7064 MOD 11-2: valid when the sum is 1 mod 11


def _weighted(chars: str, start: int) -> int:
    return sum((10 if c == "X" else int(c)) * _WEIGHTS[start + i] for i, c in enumerate(chars))


def _candidates(regions, days, tail, known, in_force_only) -> list[str]:
    dated = [(day, f"{day:%Y%m%d}") for day in days]
    dated = [(day, text, _weighted(text, 6)) for day, text in dated if all(text[i - 6] == known[i] for i in range(6, 14) if i in known)]
    rest = _weighted(tail, 14)
    cands = []
    for region, periods in regions.items():
        head = _weighted(region, 0) + rest
        for day, text, weight in dated:
            if (head + weight) % 11 != 1:
                continue
            if in_force_only and not any(start <= day.year <= end for start, end in periods):
                continue
            number = f"{region}{text}{tail}"
            assert mod_11_2.is_valid(number)
            cands.append(number)
    return cands


def _row_text(html: str, needle: str) -> str:
    for row in html.split("<tr")[1:]:
        if needle in row:
            return unescape(re.sub(r"<[^>]+>", " ", row.split("</tr>")[0]))
    raise AssertionError(f"{needle} not in any row")


def _content_text(html: str) -> str:
    main = html.split('id="content-main"', 1)[-1]
    return unescape(re.sub(r"<[^>]+>", " ", main))


@pytest.fixture
def officer(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("officer", "", "pw"))
    return client


@pytest.fixture
def registered(db):
    """A partner's company whose people have the numbers of PEOPLE."""
    partner = Partner.objects.create(name="Channel P")
    numbers = [make_resident_id(random.Random(i), born, region) for i, (region, born) in enumerate(PEOPLE)]
    company = company_register(
        legal_name="上海测试贸易有限公司", uscc=make_uscc(random.Random(5)), industry="F", province="31",
        founded_on=datetime.date(2016, 5, 1), registered_capital="1000000.00", employees=3, annual_revenue="8000000.00",
        related_parties=[{"name": f"测试{i}", "id_number": n, "role": "director"} for i, n in enumerate(numbers)],
        partner=partner,
    )
    return partner, company, numbers


def test_what_is_shown_of_a_person_does_not_determine_the_resident_id(officer, registered):
    # given the people as the admin list, the admin page and the partner API show them
    partner, company, numbers = registered
    counties = _county_codes()
    changelist = officer.get(reverse("admin:parties_person_changelist")).content.decode()
    api = client_for(issue_key(partner)).get(f"/api/v1/companies/{company.pk}/").json()
    shown_by_api = {p["name"]: p["id_number"] for p in api["related_parties"]}
    fewest = None
    for number in numbers:
        person = Person.objects.get(resident_id_hash=identity.lookup_hash(number))
        page = officer.get(reverse("admin:parties_person_change", args=[person.pk])).content.decode()
        masked = person.resident_id_masked
        assert shown_by_api[person.name] == masked
        shown = _row_text(changelist, masked) + " " + _content_text(page)
        # when an attacker rebuilds the number from each piece of birth information shown
        candidates = _rebuild(masked, shown, counties)
        # then none of them narrows it to the true number alone
        assert [number] not in candidates, f"{masked} rebuilt from what is shown"
        sizes = [len(c) for c in candidates if number in c]
        assert sizes, "the birth year is shown, so the true number is among the candidates"
        fewest = min(sizes + ([fewest] if fewest else []))
    assert fewest >= 20  # Hainan, the smallest province here, still leaves dozens


def test_a_full_resident_id_is_looked_up_by_post_and_never_lands_in_a_url(officer, registered):
    # given two files (a partner's and the lender's own) holding the same person
    _, _, numbers = registered
    number = numbers[0]
    mine, _ = person_get_or_create(name="王五", resident_id=number)
    # when the officer looks the number up
    response = officer.post(reverse("admin:parties_person_lookup"), {"resident_id": number})
    # then the answer is a redirect to a list of both records, by primary key, not by number
    assert response.status_code == 302
    assert number not in response["Location"] and number[6:14] not in response["Location"]
    listed = officer.get(response["Location"])
    assert {p.pk for p in listed.context["cl"].result_list} == set(
        Person.objects.filter(resident_id_hash=mine.resident_id_hash).values_list("pk", flat=True)
    )
    # a number held once goes straight to its record
    response = officer.post(reverse("admin:parties_person_lookup"), {"resident_id": numbers[1]})
    assert response["Location"] == reverse(
        "admin:parties_person_change", args=[Person.objects.get(name="测试1").pk]
    )


def test_the_get_search_box_does_not_search_by_resident_id(officer, registered):
    # given a person, and a full number typed into the search box (a GET: it is in the log)
    _, _, numbers = registered
    response = officer.get(reverse("admin:parties_person_changelist"), {"q": numbers[0]})
    # then nothing is looked up by it, and the officer is told where to look instead
    assert list(response.context["cl"].result_list) == []
    assert "Find by resident ID" in response.content.decode()
    # nor by the autocomplete that related-party forms use
    auto = officer.get("/admin/autocomplete/", {"term": numbers[0], "app_label": "parties", "model_name": "relatedparty",
                                                "field_name": "person"})
    assert auto.status_code == 200 and auto.json()["results"] == []
    # a name still searches
    found = officer.get(reverse("admin:parties_person_changelist"), {"q": "测试2"})
    assert [p.name for p in found.context["cl"].result_list] == ["测试2"]


def test_the_lookup_needs_a_permission_to_see_persons(client, django_user_model, registered):
    # given staff without any permission on persons
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    _, _, numbers = registered
    # when / then
    assert client.post(reverse("admin:parties_person_lookup"), {"resident_id": numbers[0]}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_person"))
    assert client.post(reverse("admin:parties_person_lookup"), {"resident_id": numbers[0]}).status_code == 302


def test_no_api_read_takes_a_resident_id():
    # given the published contract
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    # then no GET takes anything that names a person's ID number, in its path or its query
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        names = [p["name"].lower() for p in get.get("parameters", [])] + [path.lower()]
        assert not [n for n in names if re.search(r"id_number|resident|identity|id_card|ric", n)], (path, names)
