"""Lists people can read (money, rates, Shanghai dates, score with tier, names with links) and
the permission-checked CSV export of the lists officers report from."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from config.backoffice import columns, formatting
from loans.models import LoanApplication
from monitoring.models import Alert

from .conftest import staff

pytestmark = pytest.mark.django_db

ACTIONS = {
    "/admin/loans/loanapplication/": "loans",
    "/admin/loans/creditline/": "loans",
    "/admin/loans/loan/": "loans",
    "/admin/monitoring/alert/": "monitoring",
}


def test_application_list_shows_money_rates_score_with_tier_and_linked_company(world, admin_client):
    html = admin_client.get("/admin/loans/loanapplication/").content.decode()
    app = world["approved"]
    assert formatting.format_money(app.requested_amount) in html  # ¥300,000.00
    assert formatting.format_rate(app.annual_rate) in html and "%" in html
    assert f"{app.score} · {app.tier}" in html
    assert f'href="/admin/parties/company/{app.company_id}/change/" title="{app.company}">{app.company.legal_name}</a>' in html
    assert f'>{app.product.code}</a>' in html  # the product's code, not its whole description
    assert str(app.annual_rate) not in html  # never 0.150000
    # The columns an officer needs come first: status and score before the product.
    headers = [h.removesuffix("_link").removesuffix("_readable") for h in re.findall(r'<th[^>]*class="[^"]*column-([a-z_]+)', html)]
    assert headers.index("status") < headers.index("product") and headers.index("score") < headers.index("product")
    assert "tier" not in headers  # the tier is in the score column
    # Every readable column still sorts by its field.
    sortable = re.findall(r'<th[^>]*class="[^"]*sortable column-([a-z_]+)', html)
    assert {"company_link", "score", "requested_amount_readable", "created_at_readable"} <= set(sortable)
    assert admin_client.get("/admin/loans/loanapplication/?o=-4").status_code == 200


def test_warning_list_names_its_subject_with_a_link(world, admin_client, django_assert_max_num_queries):
    warning = Alert.objects.first()
    company = world["line"].company
    with django_assert_max_num_queries(20):
        html = admin_client.get("/admin/monitoring/alert/").content.decode()
    url = reverse(f"admin:{company._meta.app_label}_{company._meta.model_name}_change", args=[company.pk])
    assert f'href="{url}">{company.legal_name}</a>' in html
    assert warning.subject_kind == "company"


def test_subject_names_cost_one_query_per_kind(world, django_assert_num_queries):
    warnings = list(Alert.objects.all()) * 30
    with django_assert_num_queries(1):
        columns.attach_subject_names(warnings)
    assert all(w._subject[1] for w in warnings)


def test_unknown_subject_reads_kind_and_id():
    class Row:
        subject_kind, subject_id = "company", 999999

    rows = [Row()]
    columns.attach_subject_names(rows)
    assert columns.subject_column(rows[0]) == "company #999999"


@pytest.mark.parametrize("path", list(ACTIONS))
def test_csv_export_is_offered_only_with_its_permission(world, django_user_model, client, path):
    app_label = ACTIONS[path]
    viewer = staff(django_user_model, "looker", perms=Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    assert 'value="export_csv"' not in client.get(path).content.decode()
    ids = list(LoanApplication.objects.values_list("pk", flat=True)[:1])
    r = client.post(path, {"action": "export_csv", "_selected_action": ids})
    assert r.status_code in (200, 302) and not r.get("Content-Disposition")
    exporter = staff(
        django_user_model, "exporter",
        perms=[*Permission.objects.filter(codename__startswith="view_"), Permission.objects.get(codename="export_csv", content_type__app_label=app_label, content_type__model=path.split("/")[3])],
    )
    client.force_login(exporter)
    assert 'value="export_csv"' in client.get(path).content.decode()


def test_csv_export_of_applications(world, django_user_model, client):
    exporter = staff(
        django_user_model, "exporter",
        perms=[*Permission.objects.filter(codename__startswith="view_"), Permission.objects.get(codename="export_csv", content_type__model="loanapplication")],
    )
    client.force_login(exporter)
    ids = list(LoanApplication.objects.values_list("pk", flat=True))
    r = client.post("/admin/loans/loanapplication/", {"action": "export_csv", "_selected_action": ids})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert r["Content-Disposition"].startswith('attachment; filename="loanapplication-')
    body = b"".join(r.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads the Chinese names
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(table) == len(ids) + 1
    header = table[0]
    app = world["approved"]
    row = next(r for r in table[1:] if r[0] == str(app.pk))
    assert row[header.index("Company")] == str(app.company)
    assert row[header.index("Requested amount")] == format(app.requested_amount, "f")  # a plain decimal
    assert row[header.index("Annual rate")] == format(app.annual_rate, "f")
    assert row[header.index("Status")] == app.get_status_display()


def test_csv_export_of_warnings_names_the_subject(world, django_user_model, client):
    exporter = staff(
        django_user_model, "exporter",
        perms=[Permission.objects.get(codename="view_alert"), Permission.objects.get(codename="export_csv", content_type__model="alert")],
    )
    client.force_login(exporter)
    ids = list(Alert.objects.values_list("pk", flat=True))
    r = client.post("/admin/monitoring/alert/", {"action": "export_csv", "_selected_action": ids})
    table = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8").lstrip("\ufeff"))))
    assert "Subject" in table[0]
    assert table[1][table[0].index("Subject")] == world["line"].company.legal_name
