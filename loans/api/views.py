"""Thin views: authenticate the partner, validate, call one service, serialize."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from loans.models import Company, CreditLine, Loan, LoanApplication
from loans.services.borrowers import company_register
from loans.services.lines import credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from scoring import api as scoring_api

from . import selectors
from .authentication import IsPartner
from .filters import ApplicationFilter, CompanyFilter, CreditLineFilter, LoanFilter
from .idempotency import idempotent
from .models import WebhookDelivery, WebhookEndpoint
from .schema import IDEMPOTENCY_KEY, responses
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationSerializer,
    CompanyCreateSerializer,
    CompanyListSerializer,
    CompanySerializer,
    CreditDataResultSerializer,
    CreditDataSerializer,
    CreditLineSerializer,
    DrawdownSerializer,
    InstallmentSerializer,
    LoanSerializer,
    RepaymentCreateSerializer,
    RepaymentSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    application_created_body,
)
from .services import partner_application_submit, partner_credit_data_record, partner_offer_accept
from .webhooks import webhook_resend


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """The API renders JSON only.  A request that accepts anything or JSON exactly (what
    partners send) gets the answer DRF's negotiation would give without parsing its Accept
    list; anything else (a format override, other media types) goes through DRF's."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            len(renderers) == 1 and not format_suffix and accept in ("*/*", renderers[0].media_type)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):
        # ``?format=xml``: a format we do not render is a 406, like an Accept we cannot satisfy
        # (DRF answers 404, as if the object did not exist).
        renderers = [renderer for renderer in renderers if renderer.format == format]
        if not renderers:
            raise NotAcceptable(f"This API answers JSON only; there is no format {format!r}.")
        return renderers


class PartnerView(generics.GenericAPIView):
    permission_classes = [IsPartner]
    content_negotiation_class = JSONOnlyNegotiation

    scope = None  # a selector: partner_id -> queryset

    @property
    def partner_id(self) -> int:
        return self.request.user.partner_id

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no partner
            return self.queryset
        return type(self).scope(self.partner_id)

    def valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context={"partner_id": self.partner_id})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _company_scores(companies) -> dict:
    out = {}
    for c in companies:
        s = scoring_api.latest_score(subject_kind="company", subject_id=c.pk)
        if s is not None:
            out[c.pk] = s
    return out


# --- companies ----------------------------------------------------------------------------


class CompanyListCreate(PartnerView):
    queryset = Company.objects.none()
    scope = staticmethod(selectors.companies_for)
    filterset_class = CompanyFilter
    serializer_class = CompanyListSerializer

    @extend_schema(operation_id="companies_list", responses=responses({200: CompanyListSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CompanyListSerializer(page, many=True).data)

    @extend_schema(
        operation_id="companies_create", request=CompanyCreateSerializer,
        responses=responses({201: CompanySerializer}, 422, 409), parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def post(self, request):
        data = self.valid(CompanyCreateSerializer)
        company = company_register(
            legal_name=data["name"], uscc=data["uscc"], industry=data["industry"], province=data["province"],
            founded_on=data["founded_on"], registered_capital=data["registered_capital"], employees=data["employees"],
            annual_revenue=data["annual_revenue"], related_parties=[dict(p) for p in data.get("related_parties", [])],
            partner=request.partner,
        )
        company = selectors.company_detail_qs(self.partner_id).get(pk=company.pk)
        return Response(CompanySerializer(company).data, status=status.HTTP_201_CREATED)


class CompanyDetail(PartnerView):
    queryset = Company.objects.none()
    scope = staticmethod(selectors.company_detail_qs)
    @extend_schema(operation_id="companies_retrieve", responses=responses({200: CompanySerializer}))
    def get(self, request, pk: int):
        company = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(CompanySerializer(company, context={"scores": _company_scores([company])}).data)


class CompanyCreditData(PartnerView):
    queryset = Company.objects.none()
    scope = staticmethod(selectors.companies_for)
    @extend_schema(
        operation_id="companies_credit_data_create", request=CreditDataSerializer,
        responses=responses({201: CreditDataResultSerializer}, 409, 422), parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def post(self, request, pk: int):
        company = get_object_or_404(self.get_queryset(), pk=pk)
        data = self.valid(CreditDataSerializer)
        result = partner_credit_data_record(
            company=company, as_of=data["as_of"],
            company_features=data.get("company"), persons=[dict(p) for p in data.get("persons", [])],
        )
        return Response(CreditDataResultSerializer(result).data, status=status.HTTP_201_CREATED)


# --- applications ---------------------------------------------------------------------------


class ApplicationListCreate(PartnerView):
    queryset = LoanApplication.objects.none()
    scope = staticmethod(selectors.applications_for)
    filterset_class = ApplicationFilter
    serializer_class = ApplicationSerializer

    @extend_schema(operation_id="applications_list", responses=responses({200: ApplicationSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ApplicationSerializer(page, many=True).data)

    @extend_schema(
        operation_id="applications_create", request=ApplicationCreateSerializer,
        responses=responses({201: ApplicationSerializer}, 409, 422), parameters=[IDEMPOTENCY_KEY],
        description="Create and submit an application; the automated decision comes back inline.",
    )
    @idempotent
    def post(self, request):
        data = self.valid(ApplicationCreateSerializer)
        app, decision = partner_application_submit(
            partner_id=self.partner_id, company_id=data["company"], product_code=data["product"],
            amount=data["amount"], term_months=data["term_months"], purpose=data["purpose"],
        )
        # Serialized from what the service returned: a new application has one decision, no line.
        return Response(application_created_body(app, decision), status=status.HTTP_201_CREATED)


class ApplicationDetail(PartnerView):
    queryset = LoanApplication.objects.none()
    scope = staticmethod(selectors.applications_for)
    @extend_schema(operation_id="applications_retrieve", responses=responses({200: ApplicationSerializer}))
    def get(self, request, pk: int):
        app = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(ApplicationSerializer(app).data)


class ApplicationAccept(PartnerView):
    queryset = LoanApplication.objects.none()
    scope = staticmethod(selectors.applications_for)
    @extend_schema(
        operation_id="applications_accept", request=None,
        responses=responses({201: CreditLineSerializer}, 409, 422), parameters=[IDEMPOTENCY_KEY],
        description="The borrower takes an approved offer: the credit line opens and is returned.",
    )
    @idempotent
    def post(self, request, pk: int):
        app = get_object_or_404(self.get_queryset(), pk=pk)
        line = partner_offer_accept(application_id=app.pk)
        line = selectors.credit_lines_for(self.partner_id).get(pk=line.pk)
        return Response(CreditLineSerializer(line).data, status=status.HTTP_201_CREATED)


# --- credit lines -------------------------------------------------------------------------------


class CreditLineList(PartnerView):
    queryset = CreditLine.objects.none()
    scope = staticmethod(selectors.credit_lines_for)
    filterset_class = CreditLineFilter
    serializer_class = CreditLineSerializer

    @extend_schema(operation_id="credit_lines_list", responses=responses({200: CreditLineSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CreditLineSerializer(page, many=True).data)


class CreditLineDetail(PartnerView):
    queryset = CreditLine.objects.none()
    scope = staticmethod(selectors.credit_lines_for)
    @extend_schema(operation_id="credit_lines_retrieve", responses=responses({200: CreditLineSerializer}))
    def get(self, request, pk: int):
        line = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(CreditLineSerializer(line).data)


class CreditLineDrawdowns(PartnerView):
    queryset = CreditLine.objects.none()
    scope = staticmethod(selectors.credit_lines_for)
    @extend_schema(
        operation_id="credit_lines_drawdowns_create", request=DrawdownSerializer,
        responses=responses({201: LoanSerializer}, 409, 422), parameters=[IDEMPOTENCY_KEY],
        description="Draw on the line; the new loan comes back.  Send an Idempotency-Key: a retried "
        "drawdown with the same key returns the same loan.",
    )
    @idempotent
    def post(self, request, pk: int):
        line = get_object_or_404(self.get_queryset(), pk=pk)
        data = self.valid(DrawdownSerializer)
        loan = credit_line_draw_down(
            credit_line_id=line.pk, amount=data["amount"], term_months=data["term_months"],
            idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:100] or None,
        )
        return Response(LoanSerializer(loan).data, status=status.HTTP_201_CREATED)


# --- loans -------------------------------------------------------------------------------------


class LoanList(PartnerView):
    queryset = Loan.objects.none()
    scope = staticmethod(selectors.loans_for)
    filterset_class = LoanFilter
    serializer_class = LoanSerializer

    @extend_schema(operation_id="loans_list", responses=responses({200: LoanSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(LoanSerializer(page, many=True).data)


class LoanDetail(PartnerView):
    queryset = Loan.objects.none()
    scope = staticmethod(selectors.loans_for)
    @extend_schema(operation_id="loans_retrieve", responses=responses({200: LoanSerializer}))
    def get(self, request, pk: int):
        loan = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(LoanSerializer(loan).data)


class LoanSchedule(PartnerView):
    """The whole schedule of one loan, in installment order: at most a few hundred rows (the
    term is at most 360 months), so one bare list, not a page.  Without a paginator the schema
    says so too (it declared a page, and a generated client crashed on the list)."""

    queryset = Loan.objects.none()
    scope = staticmethod(selectors.loans_for)
    pagination_class = None

    @extend_schema(operation_id="loans_schedule", responses=responses({200: InstallmentSerializer(many=True)}))
    def get(self, request, pk: int):
        loan = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(InstallmentSerializer(loan.installments.filter(superseded_on__isnull=True).order_by("number"), many=True).data)


class LoanRepayments(PartnerView):
    queryset = Loan.objects.none()
    scope = staticmethod(selectors.loans_for)
    @extend_schema(
        operation_id="loans_repayments_create", request=RepaymentCreateSerializer,
        responses=responses({201: RepaymentSerializer}, 409, 422), parameters=[IDEMPOTENCY_KEY],
        description="Record a repayment.  Idempotent by external_ref: the same reference and amount "
        "return the first repayment; the same reference with another amount answers 422.",
    )
    @idempotent
    def post(self, request, pk: int):
        loan = get_object_or_404(self.get_queryset(), pk=pk)
        data = self.valid(RepaymentCreateSerializer)
        repayment = loan_repayment_record(
            loan_id=loan.pk, amount=data["amount"], external_ref=data["external_ref"], received_on=data.get("received_on"),
        )
        repayment = type(repayment).objects.select_related("loan").get(pk=repayment.pk)
        return Response(RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)


# --- webhooks ------------------------------------------------------------------------------------


class WebhookEndpointListCreate(PartnerView):
    queryset = WebhookEndpoint.objects.none()
    scope = staticmethod(selectors.webhook_endpoints_for)
    serializer_class = WebhookEndpointSerializer

    @extend_schema(operation_id="webhook_endpoints_list", responses=responses({200: WebhookEndpointSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create", request=WebhookEndpointSerializer,
        responses=responses({201: WebhookEndpointCreatedSerializer}, 409),
        description="Register an endpoint.  The signing secret is returned once, in this response.",
    )
    def post(self, request):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save(partner_id=self.partner_id)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetail(PartnerView):
    queryset = WebhookEndpoint.objects.none()
    scope = staticmethod(selectors.webhook_endpoints_for)
    @extend_schema(operation_id="webhook_endpoints_destroy", responses=responses({204: None}))
    def delete(self, request, pk: int):
        endpoint = get_object_or_404(self.get_queryset(), pk=pk)
        endpoint.is_active = False
        endpoint.save(update_fields=["is_active"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryList(PartnerView):
    queryset = WebhookDelivery.objects.none()
    scope = staticmethod(selectors.webhook_deliveries_for)
    serializer_class = WebhookDeliverySerializer

    @extend_schema(operation_id="webhook_deliveries_list", responses=responses({200: WebhookDeliverySerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryResend(PartnerView):
    queryset = WebhookDelivery.objects.none()
    scope = staticmethod(selectors.webhook_deliveries_for)
    @extend_schema(operation_id="webhook_deliveries_resend", request=None, responses=responses({202: WebhookDeliverySerializer}, 409))
    def post(self, request, pk: int):
        delivery = get_object_or_404(self.get_queryset(), pk=pk)
        delivery = webhook_resend(delivery_id=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
