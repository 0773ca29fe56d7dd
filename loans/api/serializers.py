"""Input serializers validate the shape; output serializers describe the contract.
Business rules (USCC and ID check digits, product ranges, limits) live in the services."""

from __future__ import annotations

import copy
from decimal import Decimal

from rest_framework import serializers

from loans.choices import Industry, Province, Role
from loans.models import (
    Company,
    ConsentSource,
    CreditLine,
    Installment,
    Loan,
    LoanApplication,
    Repayment,
)
from loans.schedule import MAX_TERM_MONTHS
from scoring import features as feature_dictionary

from . import webhook_addresses
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

MONEY = dict(max_digits=18, decimal_places=2)
POSITIVE_MONEY = dict(MONEY, min_value=Decimal("0.01"))


class MoneyOut(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=2, read_only=True, **kwargs)


class RateOut(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=8, decimal_places=6, read_only=True, **kwargs)


# For serializers on the application hot path (flat ones: no nested serializer fields).  DRF
# builds a serializer's fields anew for every instance: it deep-copies — that is, re-instantiates
# — each declared field, and a ModelSerializer also introspects its model.  Building a field
# reads nothing of the request, and serializing or validating changes nothing in it but what
# ``bind`` sets, so the fields are built once per class and each instance binds shallow copies.
# (A comment, not a docstring: the schema would take a docstring as the serializers' description.)
class FieldsBuiltOnce:
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return {name: copy.copy(field) for name, field in built.items()}


# --- errors (documentation only) ------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. validation_error, not_found.")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text='Per-field messages, keyed by field path: {"related_parties[1].id_number": ["..."]}',
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- companies ----------------------------------------------------------------------------


class RelatedPartyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    id_number = serializers.CharField(max_length=32, help_text="18-digit resident ID with its check digit.")
    role = serializers.ChoiceField(choices=Role.choices)
    ownership_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True,
                                             help_text="Shareholders only: percent of the company held.")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    credit_check_consents = serializers.ListField(
        child=serializers.ChoiceField(choices=ConsentSource.choices), required=False, max_length=len(ConsentSource.values),
        help_text="Sources the person has consented to credit checks against (you collected and keep the signed authorisation).",
    )
    consent_evidence = serializers.CharField(
        max_length=200, required=False, allow_blank=True,
        help_text="Your reference of the signed authorisation (document number, e-signature id); not the document.",
    )


class CompanyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    uscc = serializers.CharField(max_length=32, help_text="18-character unified social credit code with its check digit.")
    industry = serializers.ChoiceField(choices=Industry.choices, help_text="GB/T 4754 section letter.")
    province = serializers.ChoiceField(choices=Province.choices, help_text="GB/T 2260 two-digit code.")
    founded_on = serializers.DateField()
    registered_capital = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    employees = serializers.IntegerField(min_value=0, max_value=10_000_000)
    annual_revenue = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    related_parties = RelatedPartyInputSerializer(many=True, required=False, max_length=50)


class RelatedPartyOutSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField(source="person.name")
    id_number = serializers.CharField(source="person.resident_id_masked", help_text="Masked: 11************1234 (province and last four).")
    role = serializers.CharField()
    ownership_pct = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class ScoreOutSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    tier = serializers.CharField()
    as_of = serializers.DateField()
    reasons = ReasonSerializer(many=True)


class CompanySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="legal_name")
    registered_capital = MoneyOut()
    annual_revenue = MoneyOut()
    related_parties = serializers.SerializerMethodField()
    latest_score = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = [
            "id", "name", "uscc", "industry", "province", "founded_on", "registered_capital", "employees",
            "annual_revenue", "status", "related_parties", "latest_score", "created_at",
        ]

    def get_related_parties(self, company) -> list[dict]:
        parties = [p for p in company.related_parties.all() if p.valid_to is None]
        return RelatedPartyOutSerializer(parties, many=True).data

    def get_latest_score(self, company) -> ScoreOutSerializer(allow_null=True):  # type: ignore[valid-type]
        score = self.context.get("scores", {}).get(company.pk)
        if score is None:
            return None
        return {
            "score": score.score, "tier": score.tier, "as_of": score.as_of,
            "reasons": [{"code": r.code, "text": r.text_en} for r in score.reasons],
        }


class CompanyListSerializer(CompanySerializer):
    class Meta(CompanySerializer.Meta):
        fields = ["id", "name", "uscc", "industry", "province", "founded_on", "employees", "status", "created_at"]


# --- credit data ----------------------------------------------------------------------------


class _FeatureValue:
    """A credit data feature, checked by the feature dictionary's own rule (the one the
    scoring service applies): a real number in range — JSON ``true``, a string, NaN and the
    infinities are refused, the field named.  The DRF base class gives the schema its type."""

    def __init__(self, *, feature, **kwargs):
        self.feature = feature
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return feature_dictionary.validate_value(self.feature, data)
        except feature_dictionary.FeatureRangeError as exc:
            raise serializers.ValidationError(str(exc)) from None


class FloatFeatureField(_FeatureValue, serializers.FloatField):
    pass


class IntegerFeatureField(_FeatureValue, serializers.IntegerField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return None if value is None else int(value)


def _feature_fields(kind: str) -> dict:
    fields = {}
    for f in feature_dictionary.FEATURES_BY_KIND[kind]:
        cls = IntegerFeatureField if f.integer else FloatFeatureField
        fields[f.name] = cls(
            feature=f, required=False, allow_null=True, min_value=f.min_value if not f.integer else int(f.min_value),
            max_value=f.max_value if not f.integer else int(f.max_value), help_text=f"{f.meaning} ({f.unit})",
        )
    return fields


CompanyFeaturesSerializer = type("CompanyFeaturesSerializer", (serializers.Serializer,), _feature_fields("company"))
PersonFeaturesSerializer = type("PersonFeaturesSerializer", (serializers.Serializer,), _feature_fields("person"))


class PersonCreditDataSerializer(serializers.Serializer):
    id_number = serializers.CharField(max_length=32, help_text="Resident ID of one of the company's related parties.")
    in_default = serializers.BooleanField(default=False)
    features = PersonFeaturesSerializer()


class CreditDataSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The date the data describes: not in the future, not before the company was founded.")
    source = serializers.ChoiceField(
        choices=[("partner", "partner")], required=False,
        help_text="Always partner: data sent through this API counts for your own companies only.",
        error_messages={"invalid_choice": 'Data sent through this API is always source "partner"; "{input}" is not yours to claim.'},
    )
    company = CompanyFeaturesSerializer(required=False, help_text="The company's operating snapshot.")
    persons = PersonCreditDataSerializer(many=True, required=False, max_length=50)

    def validate(self, attrs):
        if not attrs.get("company") and not attrs.get("persons"):
            raise serializers.ValidationError("Send a company snapshot, person snapshots, or both.")
        return attrs


class CreditDataResultSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    company_snapshot = serializers.BooleanField()
    person_snapshots = serializers.IntegerField()


# --- applications ---------------------------------------------------------------------------


class ApplicationCreateSerializer(FieldsBuiltOnce, serializers.Serializer):
    company = serializers.IntegerField(min_value=1, max_value=2**62, help_text="Id of one of your companies.")
    product = serializers.SlugField(max_length=40, help_text="Product code, e.g. sme-revolving.")
    amount = serializers.DecimalField(**POSITIVE_MONEY)
    term_months = serializers.IntegerField(min_value=1, max_value=MAX_TERM_MONTHS)
    purpose = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_company(self, value: int) -> int:
        from .selectors import partner_has_company

        if not partner_has_company(self.context["partner_id"], value):
            raise serializers.ValidationError(f"You have no company #{value}.")
        return value

    def validate(self, attrs):
        # The service's own check of amount and term (the product's range follows there).
        from loans.services.applications import application_request_checked

        _, errors = application_request_checked(requested_amount=attrs["amount"], term_months=attrs["term_months"])
        if errors:
            names = {"requested_amount": "amount"}
            raise serializers.ValidationError({names.get(k, k): [v] for k, v in errors.items()})
        return attrs


class DecisionSerializer(FieldsBuiltOnce, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["approve", "decline", "refer"])
    kind = serializers.ChoiceField(choices=["automated", "committee"])
    policy_version = serializers.IntegerField()
    decided_at = serializers.DateTimeField(source="created_at")


class ApplicationSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    amount = MoneyOut(source="requested_amount")
    approved_limit = MoneyOut(allow_null=True)
    annual_rate = RateOut(allow_null=True)
    decision = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()
    credit_line = serializers.SerializerMethodField()

    class Meta:
        model = LoanApplication
        fields = [
            "id", "company", "product", "amount", "term_months", "purpose", "status", "decision",
            "approved_limit", "annual_rate", "tier", "score", "reasons", "credit_line", "created_at", "decided_at",
        ]

    def _decision(self, app):
        if "decision" in self.context:  # just decided: the service handed it over
            return self.context["decision"]
        decisions = list(app.decisions.all())  # prefetched, newest first
        return decisions[0] if decisions else None

    def get_decision(self, app) -> DecisionSerializer(allow_null=True):  # type: ignore[valid-type]
        d = self._decision(app)
        return None if d is None else DecisionSerializer(d).data

    def get_reasons(self, app) -> ReasonSerializer(many=True):  # type: ignore[valid-type]
        return _reasons(self._decision(app))

    def get_credit_line(self, app) -> int | None:
        if "credit_line" in self.context:
            line = self.context["credit_line"]
        else:
            line = getattr(app, "credit_line", None)  # select_related; None when there is none
        return None if line is None else line.pk


def _reasons(d) -> list[dict]:
    if d is None:
        return []
    out = []
    for hit in d.rule_hits or ():
        if hit.get("effect") in ("knockout", "ineligible", "refer"):
            out.append({"code": hit.get("code", ""), "text": hit.get("message", "")})
    for r in d.reason_codes or ():
        out.append({"code": r.get("code", ""), "text": r.get("text_en", "")})
    return out


# The formatting of ApplicationSerializer's typed fields, for the body below.
_MONEY_OUT, _RATE_OUT, _DATETIME_OUT = MoneyOut(), RateOut(), serializers.DateTimeField()


def _out(field: serializers.Field, value):
    return None if value is None else field.to_representation(value)


def application_created_body(app: LoanApplication, decision) -> dict:
    """What ``ApplicationSerializer`` gives for an application just decided (``decision`` its
    one decision, no credit line yet), built directly: the application POST answers with it on
    every request, and the serializer's per-instance field copies and attribute walks cost more
    than the rest of the response.  ApplicationSerializer stays the contract (the schema and the
    GET use it); tests/api pin the two to the same output."""
    return {
        "id": app.pk,
        "company": app.company_id,
        "product": app.product.code,
        "amount": _out(_MONEY_OUT, app.requested_amount),
        "term_months": app.term_months,
        "purpose": app.purpose,
        "status": str(app.status),
        "decision": {
            "outcome": str(decision.outcome),
            "kind": str(decision.kind),
            "policy_version": decision.policy_version,
            "decided_at": _out(_DATETIME_OUT, decision.created_at),
        },
        "approved_limit": _out(_MONEY_OUT, app.approved_limit),
        "annual_rate": _out(_RATE_OUT, app.annual_rate),
        "tier": app.tier,
        "score": None if app.score is None else int(app.score),
        "reasons": _reasons(decision),
        "credit_line": None,
        "created_at": _out(_DATETIME_OUT, app.created_at),
        "decided_at": _out(_DATETIME_OUT, app.decided_at),
    }


# --- credit lines and loans ---------------------------------------------------------------------


class CreditLineSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    limit_amount = MoneyOut()
    drawn_principal = MoneyOut()
    available_amount = MoneyOut()
    annual_rate = RateOut()

    class Meta:
        model = CreditLine
        fields = [
            "id", "company", "application", "product", "limit_amount", "drawn_principal", "available_amount",
            "annual_rate", "tier", "status", "opened_on", "expires_on",
        ]


class DrawdownSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**POSITIVE_MONEY)
    term_months = serializers.IntegerField(min_value=1, max_value=MAX_TERM_MONTHS)


class LoanSerializer(serializers.ModelSerializer):
    principal = MoneyOut()
    outstanding_principal = MoneyOut()
    penalty_accrued = MoneyOut()
    annual_rate = RateOut()

    class Meta:
        model = Loan
        fields = [
            "id", "credit_line", "company", "principal", "outstanding_principal", "annual_rate", "term_months",
            "repayment_method", "disbursed_on", "first_due_date", "maturity_date", "status", "days_past_due",
            "bucket", "classification", "penalty_accrued",
        ]


class InstallmentSerializer(serializers.ModelSerializer):
    principal_due = MoneyOut()
    interest_due = MoneyOut()
    penalty_due = MoneyOut()
    principal_paid = MoneyOut()
    interest_paid = MoneyOut()
    penalty_paid = MoneyOut()
    amount_outstanding = MoneyOut()

    class Meta:
        model = Installment
        fields = [
            "number", "due_date", "principal_due", "interest_due", "penalty_due", "principal_paid",
            "interest_paid", "penalty_paid", "amount_outstanding", "paid_on",
        ]


class RepaymentCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**POSITIVE_MONEY)
    external_ref = serializers.CharField(max_length=100, help_text="Your payment reference; the same one is recorded once.")
    received_on = serializers.DateField(required=False, help_text="Defaults to today.")


class RepaymentSerializer(serializers.ModelSerializer):
    amount = MoneyOut()
    penalty_part = MoneyOut()
    interest_part = MoneyOut()
    principal_part = MoneyOut()
    loan_status = serializers.CharField(source="loan.status")
    loan_outstanding_principal = MoneyOut(source="loan.outstanding_principal")

    class Meta:
        model = Repayment
        fields = [
            "id", "loan", "external_ref", "amount", "received_on", "penalty_part", "interest_part", "principal_part",
            "loan_status", "loan_outstanding_principal",
        ]


# --- webhooks ---------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), required=False, max_length=10,
        help_text="Event types to receive; empty or omitted means all.",
    )
    url = serializers.URLField(
        max_length=500, validators=[webhook_addresses.validate_webhook_url],
        help_text="https, to a public address (a host that is or resolves to a private, loopback or link-local "
        "address is refused, at registration and at every delivery); redirects are not followed.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "is_active", "created_at"]
        read_only_fields = ["id", "is_active", "created_at"]

    def validate_events(self, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))  # each event once, in the order given


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """The partner's delivery log: how each attempt went, no more (no addresses, no error
    detail, no response body: the server's view of the network is not the partner's)."""

    event_id = serializers.SerializerMethodField()
    last_failure = serializers.ChoiceField(
        choices=WebhookDelivery.Failure.choices, allow_blank=True, read_only=True,
        help_text="Why the last attempt failed; empty when it succeeded or none was made.",
    )
    last_response_code = serializers.IntegerField(
        allow_null=True, read_only=True, help_text="The HTTP status your endpoint answered, when it answered.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "event_id", "event_type", "payload", "status", "attempts", "next_attempt_at",
            "last_response_code", "last_failure", "delivered_at", "created_at",
        ]

    def get_event_id(self, d) -> str:
        return f"evt_{d.event_id.hex}"
