import json

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.backoffice.permissions import GuardedModelAdmin
from loans.admin.lending import _error_text, _run_on_each, close_lines
from loans.models import CreditLine

from . import actions as action_services
from .models import ActionKind, ActionPolicy, EarlyWarning, PostLoanAction, ScoringChunk, ScoringRun


class FailedChunkInline(admin.TabularInline):
    model = ScoringChunk
    verbose_name_plural = "chunks not done"
    fields = ("phase", "id_from", "id_to", "status", "attempts", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(status="done")


@admin.register(ScoringRun)
class ScoringRunAdmin(GuardedModelAdmin):
    list_display = (
        "as_of", "status", "phase", "progress", "persons", "companies", "alerts", "seconds_total",
        "attempts", "started_at", "finished_at", "short_error",
    )
    list_filter = ("status", "phase", "mode")
    date_hierarchy = "as_of"
    readonly_fields = [f.name for f in ScoringRun._meta.fields]
    inlines = [FailedChunkInline]

    @admin.display(description="chunks")
    def progress(self, run):
        return f"{run.chunks_done}/{run.chunks_total}"

    @admin.display(description="persons")
    def persons(self, run):
        return run.counts.get("persons")

    @admin.display(description="companies")
    def companies(self, run):
        return run.counts.get("companies")

    @admin.display(description="alerts")
    def alerts(self, run):
        return run.counts.get("alerts")

    @admin.display(description="seconds")
    def seconds_total(self, run):
        return run.timings.get("total")

    @admin.display(description="error")
    def short_error(self, run):
        return (run.error[:80] + "…") if len(run.error) > 80 else run.error

    def has_add_permission(self, request):
        return False


@admin.register(ScoringChunk)
class ScoringChunkAdmin(GuardedModelAdmin):
    list_display = ("run", "phase", "id_from", "id_to", "status", "written", "attempts", "seconds", "peak_rss_mb", "worker")
    list_filter = ("status", "phase")
    list_select_related = ("run",)
    readonly_fields = [f.name for f in ScoringChunk._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(EarlyWarning)
class EarlyWarningAdmin(GuardedModelAdmin):
    list_display = ("as_of", "rule", "severity", "subject_kind", "subject_id", "old_score", "new_score", "status")
    list_filter = ("rule", "severity", "status", "subject_kind")
    date_hierarchy = "as_of"
    search_fields = ("subject_id",)


# --- Post-loan actions ---------------------------------------------------------------------


class ProposeActionForm(forms.ModelForm):
    """Propose an action: the terms are checked against the line or loan as they are now."""

    params = forms.JSONField(required=False, initial=dict, help_text=_(
        'reduce_limit: {"percent": 30} or {"new_limit": "200000"}; increase_limit: {"new_limit": ...}; '
        'require_collateral / add_guarantee: {"amount_needed": "50000", "due_date": "2026-06-30"}; '
        'restructure: {"term_months": 24, "interest_only_months": 3, "annual_rate": "0.06"}'
    ))

    class Meta:
        model = PostLoanAction
        fields = ["kind", "credit_line", "loan", "params", "reason"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        line, loan = data.get("credit_line"), data.get("loan")
        try:
            line, loan = action_services._subjects(data["kind"], getattr(line, "pk", None), getattr(loan, "pk", None), lock=False)
            action_services.validate_terms(kind=data["kind"], line=line, loan=loan, params=data.get("params") or {},
                                           on=timezone.localdate())
        except Exception as exc:  # DomainError or ValidationError: shown on the form
            if not hasattr(exc, "message") and not hasattr(exc, "message_dict"):
                raise
            raise forms.ValidationError(_error_text(exc)) from None
        return data


@admin.action(description=_("Approve (maker-checker: not your own)"), permissions=["approve_action"])
def approve_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Approved"),
                 lambda pk: action_services.post_loan_action_approve(action_id=pk, actor=request.user), noun="action")


@admin.action(description=_("Reject"), permissions=["approve_action"])
def reject_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Rejected"),
                 lambda pk: action_services.post_loan_action_reject(action_id=pk, actor=request.user), noun="action")


@admin.action(description=_("Execute (approved actions)"), permissions=["execute_action"])
def execute_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Executed"),
                 lambda pk: action_services.post_loan_action_execute(action_id=pk, actor=request.user), noun="action")


@admin.action(description=_("Cancel (not yet executed)"), permissions=["propose_action"])
def cancel_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Cancelled"),
                 lambda pk: action_services.post_loan_action_cancel(action_id=pk, actor=request.user), noun="action")


@admin.register(PostLoanAction)
class PostLoanActionAdmin(GuardedModelAdmin):
    list_display = ("id", "kind", "status", "company_name", "credit_line_id", "loan_id", "proposer", "approved_by",
                    "executed_at", "alert_id", "reason")
    list_filter = ("status", "kind", "needs_committee")
    list_select_related = ("company", "proposed_by", "approved_by")
    search_fields = ("=id", "company__legal_name", "=credit_line__id", "=loan__id")
    actions = [approve_actions, reject_actions, execute_actions, cancel_actions]
    form = ProposeActionForm
    readonly_fields = [f.name for f in PostLoanAction._meta.fields if f.name not in ("kind", "credit_line", "loan", "params", "reason")]
    raw_id_fields = ("credit_line", "loan")

    @admin.display(description=_("company"), ordering="company__legal_name")
    def company_name(self, action):
        return action.company.legal_name

    @admin.display(description=_("proposed by"))
    def proposer(self, action):
        return action.proposed_by or _("system")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # the proposal form
            return ()
        return [f.name for f in PostLoanAction._meta.fields]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "credit_line", "loan", "params", "reason"]
        return [f.name for f in PostLoanAction._meta.fields]

    def has_add_permission(self, request):
        return request.user.has_perm("monitoring.propose_action")

    def has_change_permission(self, request, obj=None):
        return False  # decided through the actions, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was done stays

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = action_services.post_loan_action_propose(
            kind=data["kind"], credit_line_id=getattr(data.get("credit_line"), "pk", None),
            loan_id=getattr(data.get("loan"), "pk", None), params=data.get("params") or {}, reason=data.get("reason", ""),
            actor=request.user,
        )
        obj.pk = obj.id = created.pk
        obj.status = created.status


@admin.register(ActionPolicy)
class ActionPolicyAdmin(GuardedModelAdmin):
    list_display = ("rule", "severity", "action_kind", "terms", "is_active", "updated_by", "updated_at")
    list_filter = ("is_active", "severity", "action_kind")
    list_select_related = ("updated_by",)
    fields = ("rule", "severity", "action_kind", "params", "is_active")

    @admin.display(description=_("terms"))
    def terms(self, policy):
        return json.dumps(policy.params, ensure_ascii=False)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


# The line admin's freeze and unfreeze propose an action (a second person approves it) instead
# of acting directly; the loan book's admin cannot import monitoring, so it is rewired here.


def _propose_on_lines(modeladmin, request, queryset, kind: str, verb: str):
    _run_on_each(
        modeladmin, request, queryset, verb,
        lambda pk: action_services.post_loan_action_propose(kind=kind, credit_line_id=pk, actor=request.user,
                                                            reason=str(_("proposed from the credit line admin"))),
        noun="credit line",
    )


@admin.action(description=_("Propose a freeze (approved by a second person)"), permissions=["freeze_line"])
def freeze_lines(modeladmin, request, queryset):
    _propose_on_lines(modeladmin, request, queryset, ActionKind.FREEZE_LINE, _("Freeze proposed"))


@admin.action(description=_("Propose an unfreeze (approved by a second person)"), permissions=["unfreeze_line"])
def unfreeze_lines(modeladmin, request, queryset):
    _propose_on_lines(modeladmin, request, queryset, ActionKind.UNFREEZE_LINE, _("Unfreeze proposed"))


admin.site._registry[CreditLine].actions = [freeze_lines, unfreeze_lines, close_lines]
