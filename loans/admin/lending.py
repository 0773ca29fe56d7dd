"""Admin for lending: applications and their decisions, credit policy, lines, loans,
repayments and the ledger.  Every state change calls a service; domain errors become
messages, nothing is edited behind the services' back.  Every action and view names the
permission it needs (see ``config.backoffice.permissions``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.backoffice.formatting import format_money
from config.backoffice.permissions import GuardedModelAdmin, ReadableInlineMixin, ReadOnlyModelAdmin
from config.backoffice.rows import TERM_SPREAD_COLUMNS, TIER_BAND_COLUMNS, RowsField
from config.history.views import latest_changes_view

from ..choices import LEDGER_KIND_LABELS, ledger_kind_label
from ..errors import DomainError
from ..models import (
    ApplicationEvent,
    CreditLine,
    CreditPolicy,
    Decision,
    Installment,
    LedgerEntry,
    Loan,
    LoanApplication,
    Repayment,
)
from ..models.core import status_label
from ..schedule import MAX_TERM_MONTHS
from ..services import applications as app_services
from ..services.lines import credit_line_close, credit_line_draw_down, credit_line_freeze, credit_line_unfreeze
from ..services.policy import (
    POLICY_FIELDS,
    credit_policy_active,
    credit_policy_approve,
    credit_policy_changes,
    credit_policy_propose,
    credit_policy_reject,
    credit_policy_validate,
)
from ..services.repayments import loan_repayment_record
from .four_eyes import VersionReviewAdmin
from .four_eyes import error_text as _error_text


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- applications ---------------------------------------------------------------------------


class ApplicationEventInline(ReadableInlineMixin, ReadOnlyMixin, admin.TabularInline):
    model = ApplicationEvent
    fields = ["at", "from_status_label", "to_status_label", "actor", "note"]
    readonly_fields = fields
    extra = 0

    # The statuses are stored as codes (no choices on the event): shown in words.
    @admin.display(description=_("from status"), ordering="from_status")
    def from_status_label(self, obj):
        return status_label(obj.from_status) if obj.from_status else "—"

    @admin.display(description=_("to status"), ordering="to_status")
    def to_status_label(self, obj):
        return status_label(obj.to_status)


class DecisionInline(ReadableInlineMixin, ReadOnlyMixin, admin.TabularInline):
    model = Decision
    # the score column names its tier ("610 · D"), as the lists do
    fields = ["created_at", "kind", "outcome", "score", "approved_limit", "annual_rate", "policy_version", "decided_by", "ledger_seq"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


class LoanApplicationForm(forms.ModelForm):
    class Meta:
        model = LoanApplication
        fields = ["company", "product", "partner", "requested_amount", "term_months", "purpose"]

    def clean(self):
        data = super().clean()
        # The service's own check (field errors Django already found are not repeated).
        _, errors = app_services.application_request_checked(
            requested_amount=data.get("requested_amount"), term_months=data.get("term_months"), product=data.get("product")
        )
        for field, message in errors.items():
            if field in data:
                self.add_error(field, message)
        return data


def _run_on_each(modeladmin, request, queryset, verb: str, call, noun: str = "application"):
    """Call a service for each selected row; one message per failure, one for the successes."""
    done = 0
    for pk in queryset.order_by("pk").values_list("pk", flat=True):
        try:
            call(pk)
            done += 1
        except (DomainError, ValidationError) as exc:
            modeladmin.message_user(request, f"{noun.capitalize()} #{pk}: {_error_text(exc)}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb}: {done} {noun}(s).", messages.SUCCESS)


@admin.action(description=_("Submit for the automated decision"), permissions=["submit_application"])
def submit_applications(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Submitted", lambda pk: app_services.application_submit(application_id=pk, actor=request.user))


# No bulk action decides credit: a referred application goes to its committee case
# (monitoring.committee), where every vote carries a comment.


@admin.action(description=_("Borrower accepts the offer"), permissions=["accept_offer"])
def accept_applications(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Accepted", lambda pk: app_services.application_accept(application_id=pk, actor=request.user))


@admin.action(description=_("Book (opens the credit line)"), permissions=["book_application"])
def book_applications(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Booked", lambda pk: app_services.application_book(application_id=pk, actor=request.user))


@admin.action(description=_("Withdraw"), permissions=["withdraw_application"])
def withdraw_applications(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Withdrawn", lambda pk: app_services.application_withdraw(application_id=pk, actor=request.user, note=f"withdrawn by {request.user}"))


@admin.register(LoanApplication)
class LoanApplicationAdmin(GuardedModelAdmin):
    form = LoanApplicationForm
    # What an officer looks for first, visible at 1366 px: who, where it stands, the score and
    # tier (one column), the money; the product and term after (config/backoffice/columns.py).
    list_display = ["id", "company", "status", "score", "tier", "requested_amount", "approved_limit", "annual_rate", "product", "term_months", "created_at"]
    list_filter = ["status", "tier", "product"]
    list_select_related = ["company", "product"]
    search_fields = ["=id", "company__legal_name", "=company__uscc"]
    autocomplete_fields = ["company", "product", "partner"]
    actions = [submit_applications, accept_applications, book_applications, withdraw_applications]
    inlines = [DecisionInline, ApplicationEventInline]
    date_hierarchy = "created_at"

    # After creation everything is read-only (changes go through the actions), and shown as
    # the lists show it (ReadableDetailMixin swaps these names on the row's page).
    readonly_fields = ["company", "product", "partner", "requested_amount", "term_months", "purpose", "status", "approved_limit",
                       "annual_rate", "tier", "score", "submitted_at", "decided_at", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return super().get_readonly_fields(request, obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["company", "product", "partner", "requested_amount", "term_months", "purpose"]
        return list(self.readonly_fields)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:  # everything is read-only after creation; changes go through actions
            return
        data = form.cleaned_data
        created = app_services.application_create(
            company_id=data["company"].pk,
            product_id=data["product"].pk,
            partner_id=data["partner"].pk if data.get("partner") else None,
            requested_amount=data["requested_amount"],
            term_months=data["term_months"],
            purpose=data.get("purpose") or "",
            actor=request.user,
        )
        obj.pk = created.pk
        obj.status = created.status

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []


# --- decisions, policy, ledger --------------------------------------------------------------


@admin.register(Decision)
class DecisionAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "application", "kind", "outcome", "score", "tier", "approved_limit", "annual_rate", "policy_version", "created_at"]
    list_filter = ["kind", "outcome", "tier", "policy_version"]
    list_select_related = ["application__company"]
    search_fields = ["=application__id", "application__company__legal_name"]


class CreditPolicyForm(forms.ModelForm):
    # Bands and spreads as a table of inputs, rates in percent (not raw JSON).
    tier_bands = RowsField(columns=TIER_BAND_COLUMNS, rows=6, label=_("Tier bands"),
                           help_text=_("From the highest band down: a score at or above the minimum falls in the band."))
    term_spreads = RowsField(columns=TERM_SPREAD_COLUMNS, rows=5, label=_("Term spreads"),
                             help_text=_("Added to the base rate: the first row whose months cover the term applies; the last must reach 360."))

    class Meta:
        model = CreditPolicy
        fields = [*POLICY_FIELDS, "note"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            candidate = CreditPolicy(**{name: data.get(name) for name in POLICY_FIELDS})
            try:
                credit_policy_validate(candidate)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errs)
            active = credit_policy_active()
            if not self.errors and all(data.get(name) == getattr(active, name) for name in POLICY_FIELDS):
                self.add_error(None, _("The proposal changes no setting of the active version v%(version)s.") % {"version": active.version})
        return data

    def validate_unique(self):
        pass  # a save publishes a new version; the edited row is never written

    def _post_clean(self):
        pass  # model validation happens in clean() against the would-be new version


def _policy_value(name: str, value) -> str:
    """A policy setting as people read it: money with separators, rates in percent, bands as rows."""
    from config.backoffice.formatting import format_money, format_rate

    if value is None:
        return "—"
    if name in ("tier_bands", "term_spreads"):
        if name == "tier_bands":
            return "; ".join(f"{b['tier']} ≥ {b['min_score']}: {format_rate(b['base_rate'])} × {b['multiplier']}" for b in value)
        return "; ".join(f"≤ {r['max_months']}: +{format_rate(r['spread'])}" for r in value)
    field = CreditPolicy._meta.get_field(name)
    if name == "lgd" or field.get_internal_type() == "DecimalField" and field.decimal_places == 6:
        return format_rate(value, places=4 if name == "penalty_daily_rate" else 2)
    if field.get_internal_type() == "DecimalField":
        return format_money(value)
    return str(value)


@admin.register(CreditPolicy)
class CreditPolicyAdmin(VersionReviewAdmin):
    """Saving never edits a version: it *proposes* a new one from the form's values (maker
    recorded, inactive).  Another person holding ``loans.publish_policy`` reviews it (the
    changed settings beside the active ones) and approves it, which publishes it, or rejects it."""

    form = CreditPolicyForm
    list_display = ["version", "is_active", "status", "review_link", "min_score", "legal_rate_cap", "committee_quorum",
                    "committee_majority", "committee_due_working_days", "created_by", "approved_by", "created_at"]
    list_filter = ["status", "is_active"]
    list_select_related = ["created_by", "approved_by"]
    readonly_fields = ["version", "is_active", "status", "maker", "created_at", "created_by", "based_on_version",
                       "approved_by", "approved_at", "rejected_by", "decided_at", "decision_note"]
    publish_permission = "loans.publish_policy"
    review_template = "admin/loans/creditpolicy/review.html"
    approve_service, reject_service, id_argument = credit_policy_approve, credit_policy_reject, "policy_id"

    def changes(self, policy):
        return [(CreditPolicy._meta.get_field(name).verbose_name, _policy_value(name, before), _policy_value(name, after))
                for name, before, after in credit_policy_changes(policy)]

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
        new = credit_policy_propose(changes=changes, actor=request.user, note=form.cleaned_data.get("note") or "")
        obj.pk, obj.version, obj.is_active, obj.status = new.pk, new.version, False, new.status
        self.message_user(request, _("Proposed credit policy v%(version)s. Another person with the right to publish policies must approve it before it applies.")
                          % {"version": new.version}, messages.SUCCESS)


class LedgerKindFilter(admin.SimpleListFilter):
    """The kinds of entry in words, from the named kinds (no scan of the ledger for its
    distinct kinds)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, label) for kind, label in LEDGER_KIND_LABELS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


def ledger_subject_link(entry: LedgerEntry):
    """A ledger entry's subject by kind and number, linked to its page ("Loan #1"), from the
    entry's own columns (no query)."""
    model = entry.subject_model
    if model is None:
        return entry.subject_label
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[entry.subject_id])
    except NoReverseMatch:  # a model without an admin page
        return entry.subject_label
    return format_html('<a href="{}">{}</a>', url, entry.subject_label)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["seq", "kind_label", "subject", "entry_hash", "created_at"]
    list_filter = [LedgerKindFilter]
    search_fields = ["=seq", "=subject_id", "=entry_hash"]
    fields = readonly_fields = ["seq", "kind_label", "subject", "created_at", "payload", "prev_hash", "content_hash", "entry_hash"]

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj):
        return ledger_kind_label(obj.kind)

    @admin.display(description=_("subject"), ordering="subject_type")
    def subject(self, obj):
        return ledger_subject_link(obj)

    def get_urls(self):
        # Beside the ledger: the latest changes to the tracked records (config/history); each
        # model's rows only for those who may view it.
        changes = path("changes/", self.permission_view(latest_changes_view(self), "loans.view_ledgerentry"), name="loans_ledgerentry_changes")
        return [changes, *super().get_urls()]


# --- lines, loans, repayments ----------------------------------------------------------------


class DrawdownForm(forms.Form):
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=0.01)
    term_months = forms.IntegerField(min_value=1, max_value=MAX_TERM_MONTHS)
    disbursed_on = forms.DateField(initial=timezone.localdate)
    idempotency_key = forms.CharField(max_length=100, required=False, help_text="Optional; repeating it never draws twice.")


class RepaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=0.01)
    external_ref = forms.CharField(max_length=100, help_text="The bank's payment reference; recording it twice records it once.")
    received_on = forms.DateField(initial=timezone.localdate)


def _form_view(modeladmin, request, obj, form_class, title, perform):
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                form.add_error(getattr(exc, "field", None) if getattr(exc, "field", None) in form.fields else None, str(exc))
        else:
            modeladmin.message_user(request, result, messages.SUCCESS)
            return redirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))
    context = {**modeladmin.admin_site.each_context(request), "title": title, "form": form, "object": obj, "opts": modeladmin.model._meta}
    return TemplateResponse(request, "admin/loans/lending_form.html", context)


@admin.action(description=_("Freeze"), permissions=["freeze_line"])
def freeze_lines(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Frozen", lambda pk: credit_line_freeze(credit_line_id=pk, actor=request.user), noun="credit line")


@admin.action(description=_("Unfreeze"), permissions=["unfreeze_line"])
def unfreeze_lines(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Unfrozen", lambda pk: credit_line_unfreeze(credit_line_id=pk, actor=request.user), noun="credit line")


@admin.action(description=_("Close"), permissions=["close_line"])
def close_lines(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, "Closed", lambda pk: credit_line_close(credit_line_id=pk, actor=request.user), noun="credit line")


@admin.register(CreditLine)
class CreditLineAdmin(GuardedModelAdmin):
    list_display = ["id", "company", "product", "limit_amount", "drawn_principal", "annual_rate", "tier", "status", "opened_on", "expires_on"]
    list_filter = ["status", "tier", "product"]
    list_select_related = ["company", "product"]
    search_fields = ["=id", "company__legal_name", "=company__uscc"]
    actions = [freeze_lines, unfreeze_lines, close_lines]
    readonly_fields = ["company", "application", "product", "partner", "limit_amount", "drawn_principal", "available", "annual_rate",
                       "tier", "status", "opened_on", "expires_on", "draw_down_link"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # lines are opened by booking an application

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("available"))
    def available(self, obj):
        return format_money(obj.available_amount)

    # A drawdown opens a loan on the line.
    DRAW_DOWN_PERMISSIONS = ("loans.view_creditline", "loans.add_loan")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perms(self.DRAW_DOWN_PERMISSIONS):
            fields = [f for f in fields if f != "draw_down_link"]
        return fields

    @admin.display(description=_("draw down"))
    def draw_down_link(self, obj):
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:loans_creditline_drawdown", args=[obj.pk]), _("Draw down…"))

    def get_urls(self):
        view = self.permission_view(self.drawdown_view, *self.DRAW_DOWN_PERMISSIONS)
        return [path("<int:pk>/draw-down/", view, name="loans_creditline_drawdown"), *super().get_urls()]

    def drawdown_view(self, request, pk):
        line = get_object_or_404(CreditLine, pk=pk)

        def perform(data):
            loan = credit_line_draw_down(
                credit_line_id=line.pk, amount=data["amount"], term_months=data["term_months"],
                disbursed_on=data["disbursed_on"], idempotency_key=data["idempotency_key"] or None, actor=request.user,
            )
            return _("Loan #%(loan)s of %(amount)s drawn on credit line #%(line)s.") % {
                "loan": loan.pk, "amount": format_money(loan.principal), "line": line.pk}

        title = _("Draw down on credit line #%(line)s (available %(amount)s)") % {
            "line": line.pk, "amount": format_money(line.available_amount)}
        return _form_view(self, request, line, DrawdownForm, title, perform)


class InstallmentInline(ReadableInlineMixin, ReadOnlyMixin, admin.TabularInline):
    model = Installment
    fields = ["schedule_version", "number", "due_date", "principal_due", "interest_due", "penalty_due", "principal_paid", "interest_paid", "penalty_paid", "paid_on", "superseded_on"]
    readonly_fields = fields
    extra = 0


class RepaymentInline(ReadableInlineMixin, ReadOnlyMixin, admin.TabularInline):
    model = Repayment
    fields = ["received_on", "external_ref", "amount", "penalty_part", "interest_part", "principal_part"]
    readonly_fields = fields
    extra = 0


@admin.register(Loan)
class LoanAdmin(GuardedModelAdmin):
    list_display = ["id", "company", "principal", "outstanding_principal", "annual_rate", "status", "days_past_due", "bucket", "classification", "disbursed_on", "maturity_date"]
    list_filter = ["status", "bucket", "classification", "repayment_method"]
    list_select_related = ["company"]
    search_fields = ["=id", "company__legal_name", "=company__uscc"]
    inlines = [InstallmentInline, RepaymentInline]
    readonly_fields = ["credit_line", "company", "partner", "principal", "annual_rate", "term_months", "repayment_method", "disbursed_on",
                       "first_due_date", "maturity_date", "status", "outstanding_principal", "penalty_accrued", "days_past_due", "bucket",
                       "classification", "serviced_on", "idempotency_key", "repayment_link"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # loans come from drawdowns

    def has_delete_permission(self, request, obj=None):
        return False

    REPAYMENT_PERMISSIONS = ("loans.view_loan", "loans.add_repayment")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perms(self.REPAYMENT_PERMISSIONS):
            fields = [f for f in fields if f != "repayment_link"]
        return fields

    @admin.display(description=_("repayment"))
    def repayment_link(self, obj):
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:loans_loan_repayment", args=[obj.pk]), _("Record repayment…"))

    def get_urls(self):
        view = self.permission_view(self.repayment_view, *self.REPAYMENT_PERMISSIONS)
        return [path("<int:pk>/repayment/", view, name="loans_loan_repayment"), *super().get_urls()]

    def repayment_view(self, request, pk):
        loan = get_object_or_404(Loan, pk=pk)

        def perform(data):
            r = loan_repayment_record(loan_id=loan.pk, amount=data["amount"], external_ref=data["external_ref"], received_on=data["received_on"], actor=request.user)
            return _("Repayment %(ref)s: penalty %(penalty)s, interest %(interest)s, principal %(principal)s.") % {
                "ref": r.external_ref, "penalty": format_money(r.penalty_part), "interest": format_money(r.interest_part),
                "principal": format_money(r.principal_part)}

        title = _("Record a repayment on loan #%(loan)s (outstanding principal %(amount)s)") % {
            "loan": loan.pk, "amount": format_money(loan.outstanding_principal)}
        return _form_view(self, request, loan, RepaymentForm, title, perform)


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "loan", "external_ref", "amount", "received_on", "penalty_part", "interest_part", "principal_part"]
    list_select_related = ["loan"]
    search_fields = ["=external_ref", "=loan__id"]
    date_hierarchy = "received_on"


@admin.register(Installment)
class InstallmentAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "loan", "number", "due_date", "principal_due", "interest_due", "penalty_due", "paid_on"]
    list_select_related = ["loan"]
    list_filter = ["paid_on"]
    search_fields = ["=loan__id"]
