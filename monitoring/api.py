"""Partner API for post-loan actions: list the actions on the partner's companies, read one,
and answer a collateral or guarantee request by pledging.  Mounted under /api/v1/ by
``config/urls.py`` (the loan book's API does not import monitoring)."""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from loans.api.filters import IdFilter, NoEmptyValuesForm
from loans.api.schema import responses
from loans.api.serializers import MoneyOut
from loans.api.views import PartnerView
from loans.choices import CollateralKind

from .actions import post_loan_action_pledge
from .models import ActionKind, ActionStatus, PostLoanAction


def actions_for(partner_id: int):
    return PostLoanAction.objects.filter(company__partner_id=partner_id)


class PostLoanActionFilter(django_filters.FilterSet):
    company = IdFilter(field_name="company_id", min_value=1, max_value=2**62)
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ActionKind.choices)

    class Meta:
        form = NoEmptyValuesForm
        model = PostLoanAction
        fields = ["company", "status", "kind"]


class PostLoanActionSerializer(serializers.ModelSerializer):
    amount_needed = MoneyOut(allow_null=True)
    by_system = serializers.SerializerMethodField()

    class Meta:
        model = PostLoanAction
        fields = [
            "id", "kind", "status", "company", "credit_line", "loan", "params", "reason", "by_system",
            "due_date", "amount_needed", "proposed_at", "executed_at", "met_at",
        ]

    def get_by_system(self, action) -> bool:
        return action.proposed_by_id is None


class CollateralPledgeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CollateralKind.choices)
    description = serializers.CharField(max_length=300)
    appraised_value = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)
    valued_on = serializers.DateField()


class GuaranteePledgeSerializer(serializers.Serializer):
    guarantor_person = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
    guarantor_company = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))


class PledgeSerializer(serializers.Serializer):
    collateral = CollateralPledgeSerializer(required=False)
    guarantee = GuaranteePledgeSerializer(required=False)

    def validate(self, data):
        if bool(data.get("collateral")) == bool(data.get("guarantee")):
            raise serializers.ValidationError("Send either collateral or guarantee.")
        return data


class PostLoanActionList(PartnerView):
    queryset = PostLoanAction.objects.none()
    scope = staticmethod(actions_for)
    filterset_class = PostLoanActionFilter
    serializer_class = PostLoanActionSerializer

    @extend_schema(operation_id="post_loan_actions_list", responses=responses({200: PostLoanActionSerializer(many=True)}))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset().order_by("-id")))
        return self.get_paginated_response(PostLoanActionSerializer(page, many=True).data)


class PostLoanActionDetail(PartnerView):
    queryset = PostLoanAction.objects.none()
    scope = staticmethod(actions_for)

    @extend_schema(operation_id="post_loan_actions_retrieve", responses=responses({200: PostLoanActionSerializer}))
    def get(self, request, pk: int):
        return Response(PostLoanActionSerializer(get_object_or_404(self.get_queryset(), pk=pk)).data)


class PostLoanActionPledge(PartnerView):
    queryset = PostLoanAction.objects.none()
    scope = staticmethod(actions_for)

    @extend_schema(
        operation_id="post_loan_actions_pledge", request=PledgeSerializer,
        responses=responses({201: PostLoanActionSerializer}, 409),
        description="Answer a require_collateral request with collateral, or an add_guarantee request "
        "with a guarantee; the request is met when the pledge is worth what was asked.",
    )
    def post(self, request, pk: int):
        action = get_object_or_404(self.get_queryset(), pk=pk)
        data = self.valid(PledgeSerializer)
        action = post_loan_action_pledge(
            action_id=action.pk, partner_id=self.partner_id, collateral=data.get("collateral"), guarantee=data.get("guarantee"),
        )
        return Response(PostLoanActionSerializer(action).data, status=status.HTTP_201_CREATED)
