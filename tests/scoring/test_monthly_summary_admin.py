"""The admin's list of monthly score summaries: read by the credit roles, month-first, subjects
by name, no N+1, exported as CSV."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.backoffice.roles import ADMINISTRATOR, AUDITOR, COMMITTEE_MEMBER, LOAN_OFFICER, RISK_MANAGER
from scoring.models import MonthlyScoreSummary
from tests.factories import CompanyFactory, PersonFactory
from tests.scoring.helpers import champion

pytestmark = pytest.mark.django_db

URL = reverse("admin:scoring_monthlyscoresummary_changelist")
OCTOBER, SEPTEMBER = datetime.date(2026, 10, 1), datetime.date(2026, 9, 1)


def member(django_user_model, username, role, *extra):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    user.user_permissions.add(*extra)
    return user


def summarise(subject, kind, model, month, last=712, low=655, high=741, mean=701.25, tier="B"):
    return MonthlyScoreSummary.objects.create(
        subject_kind=kind,
        subject_id=subject.pk,
        month=month,
        model=model,
        model_version=model.version,
        scores=30,
        first_as_of=month,
        last_as_of=month + datetime.timedelta(days=29),
        last_score=last,
        last_tier=tier,
        min_score=low,
        max_score=high,
        mean_score=mean,
        created_at=timezone.now(),
    )


@pytest.fixture
def summaries():
    companies, people = champion("company"), champion("person")
    firms = [CompanyFactory(legal_name=f"月度测试公司{i}") for i in range(3)]
    persons = [PersonFactory(name=f"王{i}") for i in range(3)]
    for month in (SEPTEMBER, OCTOBER):
        for firm in firms:
            summarise(firm, "company", companies, month)
        for person in persons:
            summarise(person, "person", people, month, last=590, low=560, high=620, mean=588.5, tier="E")
    return firms, persons


@pytest.mark.parametrize(
    ("role", "status"),
    [(LOAN_OFFICER, 200), (RISK_MANAGER, 200), (AUDITOR, 200), (COMMITTEE_MEMBER, 200), (ADMINISTRATOR, 403)],
)
def test_the_credit_roles_read_the_list_and_nobody_changes_it(client, django_user_model, summaries, role, status):
    client.force_login(member(django_user_model, "u", role))
    assert client.get(URL).status_code == status
    row = MonthlyScoreSummary.objects.first()
    assert client.get(reverse("admin:scoring_monthlyscoresummary_change", args=[row.pk])).status_code == status
    # read-only for everyone: no add, no change, no delete
    assert client.get(reverse("admin:scoring_monthlyscoresummary_add")).status_code == 403
    assert (
        client.post(reverse("admin:scoring_monthlyscoresummary_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert MonthlyScoreSummary.objects.filter(pk=row.pk).exists()


def test_the_list_starts_on_the_latest_month_with_subjects_by_name(client, django_user_model, summaries):
    firms, persons = summaries
    client.force_login(member(django_user_model, "officer", LOAN_OFFICER))
    response = client.get(URL)
    page = response.content.decode()
    # the latest month only, by default
    assert {row.month for row in response.context["cl"].result_list} == {OCTOBER}
    assert response.context["cl"].result_count == 6
    # the subjects by name, linked to their pages; the figures formatted
    assert f'href="{reverse("admin:parties_company_change", args=[firms[0].pk])}"' in page and "月度测试公司0" in page
    assert f'href="{reverse("admin:parties_person_change", args=[persons[0].pk])}"' in page and "王0" in page
    assert "712 · B" in page and "701.3" in page and "2026-10" in page
    # another month, a kind and a tier are filters
    response = client.get(URL, {"month": SEPTEMBER.isoformat(), "subject_kind": "person", "last_tier": "E"})
    assert {(r.month, r.subject_kind, r.last_tier) for r in response.context["cl"].result_list} == {
        (SEPTEMBER, "person", "E")
    }


def test_the_list_s_queries_do_not_grow_with_its_rows(client, django_user_model, summaries):
    client.force_login(member(django_user_model, "officer", LOAN_OFFICER))
    client.get(URL)  # warm the session and the content types
    with CaptureQueriesContext(connection) as six_rows:
        assert client.get(URL).status_code == 200
    model = MonthlyScoreSummary.objects.filter(subject_kind="company").first().model
    for _ in range(10):
        summarise(CompanyFactory(), "company", model, OCTOBER)
    with CaptureQueriesContext(connection) as sixteen_rows:
        assert client.get(URL).status_code == 200
    six, sixteen = ([q["sql"] for q in ctx.captured_queries] for ctx in (six_rows, sixteen_rows))
    # session, user, 2FA device, permissions (2), the months (one skip scan), the count, the
    # page with its models, the companies' and the persons' names, and the session's
    # inactivity stamp (3); on PostgreSQL the planner's estimate of the month comes first
    expected = 13 + (connection.vendor == "postgresql")
    assert len(sixteen) == len(six) == expected, (six, sixteen)


def test_the_list_is_exported_as_csv_with_names_by_whoever_may_export(client, django_user_model, summaries):
    firms, _persons = summaries
    export = Permission.objects.get(codename="export_csv", content_type__app_label="scoring")
    ids = list(MonthlyScoreSummary.objects.filter(month=OCTOBER, subject_kind="company").values_list("pk", flat=True))
    # an officer without the export permission is not offered the action
    client.force_login(member(django_user_model, "officer", LOAN_OFFICER))
    assert 'value="export_csv"' not in client.get(URL).content.decode()
    # a risk manager given it exports the rows, the month and the subject readable
    client.force_login(member(django_user_model, "risk", RISK_MANAGER, export))
    response = client.post(URL, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 1 + len(ids)
    assert "2026-10" in lines[1] and "712 · B" in lines[1] and "月度测试公司" in lines[1]


def test_the_list_and_its_sidebar_entry_in_chinese(client, django_user_model, summaries):
    client.force_login(member(django_user_model, "officer", LOAN_OFFICER))
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "月度评分汇总" in page and "月末评分" in page and "平均评分" in page
