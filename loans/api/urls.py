from django.urls import include, path, re_path, register_converter

from . import views
from .docs import docs_view, schema_view
from .exceptions import json_not_found


class IdConverter:
    """Ids of at most 18 digits: anything longer cannot exist (and would overflow SQLite)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")

v1 = [
    path("companies/", views.CompanyListCreate.as_view(), name="companies"),
    path("companies/<id:pk>/", views.CompanyDetail.as_view(), name="company-detail"),
    path("companies/<id:pk>/credit-data/", views.CompanyCreditData.as_view(), name="company-credit-data"),
    path("applications/", views.ApplicationListCreate.as_view(), name="applications"),
    path("applications/<id:pk>/", views.ApplicationDetail.as_view(), name="application-detail"),
    path("applications/<id:pk>/accept/", views.ApplicationAccept.as_view(), name="application-accept"),
    path("credit-lines/", views.CreditLineList.as_view(), name="credit-lines"),
    path("credit-lines/<id:pk>/", views.CreditLineDetail.as_view(), name="credit-line-detail"),
    path("credit-lines/<id:pk>/drawdowns/", views.CreditLineDrawdowns.as_view(), name="credit-line-drawdowns"),
    path("loans/", views.LoanList.as_view(), name="loans"),
    path("loans/<id:pk>/", views.LoanDetail.as_view(), name="loan-detail"),
    path("loans/<id:pk>/schedule/", views.LoanSchedule.as_view(), name="loan-schedule"),
    path("loans/<id:pk>/repayments/", views.LoanRepayments.as_view(), name="loan-repayments"),
    path("webhook-endpoints/", views.WebhookEndpointListCreate.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<id:pk>/", views.WebhookEndpointDetail.as_view(), name="webhook-endpoint-detail"),
    path("webhook-deliveries/", views.WebhookDeliveryList.as_view(), name="webhook-deliveries"),
    path("webhook-deliveries/<id:pk>/resend/", views.WebhookDeliveryResend.as_view(), name="webhook-delivery-resend"),
]

app_name = "partner_api"
urlpatterns = [
    path("v1/", include(v1)),
    # Public unless API_DOCS_PUBLIC is off (production), see docs.py.
    path("schema/", schema_view, name="schema"),
    path("docs/", docs_view, name="docs"),
    # Anything else under /api/ is a JSON 404, never Django's HTML page (paths with a newline too).
    re_path(r"^[\s\S]*$", json_not_found),
]
