import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from config.backoffice.formatting import format_date, format_money
from config.backoffice.permissions import GuardedModelAdmin, ReadableInlineMixin, ReadOnlyModelAdmin
from loans.admin.four_eyes import VersionReviewAdmin
from loans.admin.lending import _error_text, _run_on_each, close_lines
from loans.errors import DomainError
from loans.models import CreditLine

from . import actions as action_services
from . import alerts as alert_services
from . import committee, policy_changes, wording
from .models import (
    ActionKind,
    ActionPolicy,
    ActionPolicyChange,
    Alert,
    CommitteeCase,
    CommitteeVote,
    ModelMonitoring,
    ModelPromotion,
    PortfolioSegment,
    PortfolioSnapshot,
    PostLoanAction,
    ScoringChunk,
    ScoringRun,
    Severity,
    VoteChoice,
    WarningRule,
)
from .rules import (
    RULES,
    rule_params_validate,
    warning_rule_approve,
    warning_rule_changes,
    warning_rule_propose,
    warning_rule_reject,
)


class FailedChunkInline(ReadableInlineMixin, admin.TabularInline):
    model = ScoringChunk
    verbose_name_plural = "chunks not done"
    fields = ("phase", "id_from", "id_to", "status", "attempts", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        # Each row's title names its run's night: the run comes with the rows, not once a row.
        return super().get_queryset(request).exclude(status="done").select_related("run")


@admin.register(ScoringRun)
class ScoringRunAdmin(GuardedModelAdmin):
    list_display = (
        "as_of", "status", "phase", "progress", "persons", "companies", "alerts", "seconds_total",
        "attempts", "started_at", "finished_at", "short_error",
    )
    list_filter = ("status", "phase", "mode")
    date_hierarchy = "as_of"
    # before the raw counts, what the night settled for its warnings that cleared, in words
    readonly_fields = [f.name for f in ScoringRun._meta.fields]
    readonly_fields.insert(readonly_fields.index("counts"), "cleared_warnings")
    inlines = [FailedChunkInline]

    @admin.display(description=_("after warnings cleared"))
    def cleared_warnings(self, run):
        return wording.cleared_warning_text(run.counts) or "—"

    @admin.display(description=_("chunks"))
    def progress(self, run):
        return f"{run.chunks_done}/{run.chunks_total}"

    @admin.display(description=_("persons"))
    def persons(self, run):
        return run.counts.get("persons")

    @admin.display(description=_("companies"))
    def companies(self, run):
        return run.counts.get("companies")

    @admin.display(description=_("alerts"))
    def alerts(self, run):
        return run.counts.get("alerts")

    @admin.display(description=_("seconds"))
    def seconds_total(self, run):
        return run.timings.get("total")

    @admin.display(description=_("error"))
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


class AlertActionForm(ActionForm):
    """The action bar of the alert list: why (resolve, dismiss) and to whom (assign)."""

    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
    officer = forms.ModelChoiceField(
        label=_("Officer"), required=False, queryset=get_user_model().objects.filter(is_staff=True, is_active=True)
    )


class RuleFilter(admin.SimpleListFilter):
    """The rules by name (the codes stay in the URL)."""

    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return sorted(((code, wording.rule_label(code)) for code in wording.RULE_LABELS if code != "dpd"),
                      key=lambda c: c[1])

    def queryset(self, request, queryset):
        return queryset.filter(rule=self.value()) if self.value() else queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    """Alerts are raised by the rules only: never added, edited or deleted here.  The actions
    move them through their lifecycle (each with its own permission) and record who did it."""

    action_form = AlertActionForm
    list_display = (
        "last_seen_on", "rule_name", "severity", "subject", "status", "old_score", "new_score", "first_seen_on", "assigned_to",
    )
    list_filter = (RuleFilter, "severity", "status", "subject_kind")
    # The company is fetched for the page's rows after the sort (get_queryset): joined, the
    # planner hashed the whole company table (100,000 rows) before it could sort the alerts.
    list_select_related = ("assigned_to",)
    date_hierarchy = "last_seen_on"
    search_fields = ("=subject_id", "company__legal_name")
    fields = ("rule_name", "severity", "status", "subject", "company", "old_score", "new_score", "evidence_words", "detail",
              "first_seen_on", "last_seen_on", "rule_version", "assigned_to", "acknowledged_by", "acknowledged_at",
              "closed_by", "closed_at", "close_reason", "actions_taken", "created_at")
    readonly_fields = fields
    actions = ["acknowledge", "resolve", "dismiss", "assign"]

    def get_queryset(self, request):
        from loans.models import Company, Person

        # A person subject's name in the same query (no query per row in the list).
        return super().get_queryset(request).annotate(
            person_name=Subquery(Person.objects.filter(pk=OuterRef("subject_id")).values("name")[:1])
        ).prefetch_related(Prefetch("company", queryset=Company.objects.only("pk", "legal_name", "uscc")))

    @admin.display(description=_("rule"), ordering="rule")
    def rule_name(self, alert):
        return wording.rule_label(alert.rule)

    @admin.display(description=_("subject"))
    def subject(self, alert):
        return wording.alert_subject_link(alert)

    @admin.display(description=_("evidence"))
    def evidence_words(self, alert):
        return wording.evidence_table(alert.evidence)

    @admin.display(description=_("actions"))
    def actions_taken(self, alert):
        rows = alert.actions.select_related("company").order_by("-id")[:20]
        links = [(wording.admin_change_url(PostLoanAction, a.pk), f"{a.get_kind_display()} ({a.get_status_display()})",
                  wording.action_terms(a.kind, a.params)) for a in rows]
        if not links:
            return "—"
        return format_html_join(mark_safe("<br>"), '<a class="bo-link" href="{}">{}</a> {}', links)

    def _each(self, request, queryset, move, done: str):
        moved, failed = 0, []
        for alert_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                move(alert_id)
                moved += 1
            except (DomainError, ValidationError) as exc:
                failed.append(f"{Alert.objects.select_related('company').get(pk=alert_id)}: {_error_text(exc)}")
        if moved:
            self.message_user(request, _("%(n)s alert(s) %(done)s.") % {"n": moved, "done": done}, messages.SUCCESS)
        for text in failed:
            self.message_user(request, text, messages.ERROR)

    @admin.action(permissions=["acknowledge_alert"], description=_("Acknowledge the selected alerts"))
    def acknowledge(self, request, queryset):
        self._each(request, queryset, lambda pk: alert_services.alert_acknowledge(alert_id=pk, actor=request.user),
                   _("acknowledged"))

    @admin.action(permissions=["resolve_alert"], description=_("Resolve the selected alerts (give a reason)"))
    def resolve(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._each(request, queryset,
                   lambda pk: alert_services.alert_resolve(alert_id=pk, actor=request.user, reason=reason), _("resolved"))

    @admin.action(permissions=["dismiss_alert"], description=_("Dismiss the selected alerts (give a reason)"))
    def dismiss(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._each(request, queryset,
                   lambda pk: alert_services.alert_dismiss(alert_id=pk, actor=request.user, reason=reason), _("dismissed"))

    @admin.action(permissions=["assign_alert"], description=_("Assign the selected alerts to the officer chosen"))
    def assign(self, request, queryset):
        raw = request.POST.get("officer") or None
        try:
            officer_id = int(raw) if raw is not None else None
        except ValueError:
            self.message_user(request, _("officer: not a user id."), messages.ERROR)
            return
        self._each(request, queryset,
                   lambda pk: alert_services.alert_assign(alert_id=pk, officer_id=officer_id, actor=request.user),
                   _("assigned"))


class WarningRuleForm(forms.ModelForm):
    """The form of a proposed version.  Its clean() proposes it through the service (the
    admin hands the form the request's user), so every refusal lands on the form and nothing
    is half-saved; the edited row is never written."""

    code = forms.ChoiceField(label=_("Rule"), choices=[(c, c) for c in RULES])
    params = forms.JSONField(label=_("Parameters"), required=False, initial=dict)
    actor = None
    proposed = None

    class Meta:
        model = WarningRule
        fields = ["code", "enabled", "severity", "params", "effective_from", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # a new version of this rule, not another rule
            self.fields["code"].disabled = True
        else:
            self.fields["effective_from"].initial = timezone.localdate()
        self.fields["params"].help_text = "; ".join(
            f"{code}: {', '.join(f'{n} [{p.low:g}–{p.high:g}]' for n, p in spec.specs.items())}"
            for code, spec in RULES.items()
        )

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                data["params"] = rule_params_validate(data["code"], data.get("params") or {})
                self.proposed = warning_rule_propose(
                    code=data["code"], severity=data["severity"], params=data["params"], enabled=data["enabled"],
                    effective_from=data["effective_from"], note=data.get("note") or "", actor=self.actor,
                )
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errs)
            except DomainError as exc:
                self.add_error(None, _error_text(exc))
        return data

    def validate_unique(self):
        pass  # a save proposes a new version; the edited row is never written

    def _post_clean(self):
        pass


def _rule_value(name: str, value) -> str:
    if value is None:
        return "—"
    if name == "params":
        return ", ".join(f"{k} = {v}" for k, v in value.items()) or "—"
    if name == "severity":
        return str(Severity(value).label) if value in Severity.values else str(value)
    if name == "enabled":
        return str(_("yes") if value else _("no"))
    if name == "effective_from":
        return format_date(value)
    return str(value)


@admin.register(WarningRule)
class WarningRuleAdmin(VersionReviewAdmin):
    """Saving never edits a version: it *proposes* a new one (maker recorded, inactive; the
    nightly rules keep using the active version).  Another person holding the right to publish
    warning rules reviews it (the changed settings beside the active ones) and approves it,
    which makes it the active version, or rejects it with a reason.  Versions are never deleted."""

    form = WarningRuleForm
    list_display = ("code", "version", "is_active", "status", "review_link", "enabled", "severity", "params", "effective_from",
                    "created_at", "created_by", "approved_by")
    list_filter = ("code", "is_active", "status", "severity")
    list_select_related = ("created_by", "approved_by")
    readonly_fields = ("version", "is_active", "status", "maker", "created_at", "created_by", "based_on_version",
                       "approved_by", "approved_at", "rejected_by", "decided_at", "decision_note")
    publish_permission = "monitoring.publish_warning_rule"
    review_template = "admin/monitoring/warningrule/review.html"
    approve_service, reject_service, id_argument = warning_rule_approve, warning_rule_reject, "rule_id"

    def changes(self, rule):
        return [(_("Parameters") if name == "params" else WarningRule._meta.get_field(name).verbose_name,
                 _rule_value(name, before), _rule_value(name, after))
                for name, before, after in warning_rule_changes(rule)]

    def review_title(self, rule):
        return _("Warning rule %(rule)s") % {"rule": rule.version_name}

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        new = form.proposed  # proposed by the form's clean(), inside this request's transaction
        obj.pk, obj.version, obj.is_active, obj.status = new.pk, new.version, False, new.status
        self.message_user(
            request, _("Proposed %(code)s v%(v)s. Another person with the right to publish warning rules must approve it "
                       "before it applies; until then the nightly rules use the active version.") % {"code": new.code, "v": new.version},
            messages.SUCCESS,
        )


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


# Approving and rejecting happen in the checker's queue (``approvals/``), one action at a time
# and each with a comment: no bulk action decides an action without one.


@admin.action(description=_("Execute (approved actions)"), permissions=["execute_action"])
def execute_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Executed"),
                 lambda pk: action_services.post_loan_action_execute(action_id=pk, actor=request.user), noun="action")


@admin.action(description=_("Cancel (not yet executed)"), permissions=["propose_action"])
def cancel_actions(modeladmin, request, queryset):
    _run_on_each(modeladmin, request, queryset, _("Cancelled"),
                 lambda pk: action_services.post_loan_action_cancel(action_id=pk, actor=request.user), noun="action")


class ActionDecisionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
                              error_messages={"required": _("Every decision needs a comment.")})


def _action_named(action_id) -> str:
    """The action a queue message is about, by what it does and to whom (its number only when
    it is gone)."""
    action = PostLoanAction.objects.select_related("company").filter(pk=action_id).first()
    return wording.action_name(action) if action else _("Action #%(id)s") % {"id": action_id}


def _refusal(action_id, exc, *, named: str, plain: str) -> str:
    """A service's refusal in a queue message, the action named once: the refusals of
    ``monitoring.actions`` name it themselves ("Freeze line — …: you proposed it; …"), a term
    that no longer holds (a ``ValidationError`` of the terms) does not."""
    errors, name = _error_text(exc), _action_named(action_id)
    return plain % {"errors": errors} if name in errors else named % {"action": name, "errors": errors}


def _action_row(action: PostLoanAction) -> dict:
    """What a checker needs to decide an action without opening three pages."""
    line, loan, alert = action.credit_line, action.loan, action.alert
    return {
        "action": action, "terms": wording.action_terms(action.kind, action.params),
        "evidence": wording.alert_summary(alert) if alert is not None else "",
        "line": line, "loan": loan, "limit": format_money(line.limit_amount) if line else "—",
        "drawn": format_money(line.drawn_principal) if line else "—",
        "outstanding": format_money(loan.outstanding_principal) if loan else "",
        "proposer": action.proposed_by or _("system (action policy)"),
    }


@admin.register(PostLoanAction)
class PostLoanActionAdmin(GuardedModelAdmin):
    list_display = ("id", "kind", "status", "company_name", "credit_line_id", "loan_id", "terms", "proposer", "approved_by",
                    "executed_at", "alert_rule", "reason")
    list_filter = ("status", "kind", "needs_committee")
    # the line and loan columns are links named after them: fetched with the rows, not per row
    list_select_related = ("company", "proposed_by", "approved_by", "credit_line__company", "loan", "alert")
    search_fields = ("=id", "company__legal_name", "=credit_line__id", "=loan__id")
    actions = [execute_actions, cancel_actions]
    form = ProposeActionForm
    raw_id_fields = ("credit_line", "loan")
    # the read-only page: terms, result and warning in words instead of their JSON and ids
    DETAIL_FIELDS = ("kind", "status", "company", "credit_line", "loan", "terms", "reason", "alert_link", "needs_committee",
                     "proposed_by", "proposed_at", "approved_by", "approved_at", "rejected_by", "decided_at",
                     "decision_note", "executed_by", "executed_at", "result_words", "due_date", "amount_needed", "met_at",
                     "met_by_collateral", "met_by_guarantee", "updated_at")

    @admin.display(description=_("company"), ordering="company__legal_name")
    def company_name(self, action):
        return action.company.legal_name

    @admin.display(description=_("proposed by"))
    def proposer(self, action):
        return action.proposed_by or _("system")

    @admin.display(description=_("terms"))
    def terms(self, action):
        return format_html('<span class="bo-terms">{}</span>', wording.action_terms(action.kind, action.params) or "—")

    @admin.display(description=_("what was done"))
    def result_words(self, action):
        return wording.result_text(action) if action.result else "—"

    @admin.display(description=_("warning"), ordering="alert__rule")
    def alert_rule(self, action):
        """The warning by its rule's name (the company is the row's own column)."""
        if action.alert_id is None:
            return "—"
        return format_html('<a class="bo-link" href="{}" title="{}">{}</a>', wording.admin_change_url(Alert, action.alert_id),
                           action.alert.get_severity_display(), wording.rule_label(action.alert.rule))

    @admin.display(description=_("warning"))
    def alert_link(self, action):
        return wording.alert_link(action.alert) if action.alert_id else "—"

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and obj.alert_id:  # the warning's name reads its company
            obj.alert.company  # noqa: B018
        return obj

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # the proposal form
            return ()
        return self.DETAIL_FIELDS

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "credit_line", "loan", "params", "reason"]
        return self.DETAIL_FIELDS

    def has_add_permission(self, request):
        return request.user.has_perm("monitoring.propose_action")

    def has_change_permission(self, request, obj=None):
        return False  # decided through the actions, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was done stays

    def get_urls(self):
        return [
            path("approvals/", self.permission_view(self.approvals_view, "monitoring.approve_action"),
                 name="monitoring_postloanaction_approvals"),
            path("<int:action_id>/decide/", self.permission_view(self.decide_view, "monitoring.approve_action"),
                 name="monitoring_postloanaction_decide"),
            path("<int:action_id>/execute/", self.permission_view(self.execute_view, "monitoring.execute_action"),
                 name="monitoring_postloanaction_execute"),
            *super().get_urls(),
        ]

    def approvals_view(self, request):
        """The risk manager's queue: actions waiting for a checker, never one's own proposals."""
        queue = action_services.actions_awaiting_approval(request.user)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": _("Actions waiting for my approval"),
            "waiting": [_action_row(a) for a in queue["waiting"]], "waiting_count": queue["waiting_count"],
            "approved": [_action_row(a) for a in queue["approved"]], "form": ActionDecisionForm(),
            "can_execute": request.user.has_perm("monitoring.execute_action"),
        }
        return TemplateResponse(request, "monitoring/actions/approvals.html", context)

    def decide_view(self, request, action_id):
        """Approve (and, for whoever may execute, carry out at once) or reject, with a comment."""
        back = redirect("admin:monitoring_postloanaction_approvals")
        if request.method != "POST":
            return back
        form = ActionDecisionForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            self.message_user(request, _("%(action)s not decided: %(errors)s") % {"action": _action_named(action_id), "errors": errors},
                              messages.ERROR)
            return back
        note = form.cleaned_data["comment"]
        try:
            if "do-reject" in request.POST:
                action_services.post_loan_action_reject(action_id=action_id, actor=request.user, note=note)
                self.message_user(request, _("%(action)s: rejected.") % {"action": _action_named(action_id)}, messages.SUCCESS)
                return back
            action_services.post_loan_action_approve(action_id=action_id, actor=request.user, note=note)
        except (DomainError, ValidationError) as exc:
            text = _refusal(action_id, exc, named=_("%(action)s not decided: %(errors)s"), plain=_("Not decided: %(errors)s"))
            self.message_user(request, text, messages.ERROR)
            return back
        if request.user.has_perm("monitoring.execute_action"):
            return self._execute(request, action_id, back, approved=True)
        self.message_user(request, _("%(action)s: approved; it waits to be executed.") % {"action": _action_named(action_id)}, messages.SUCCESS)
        return back

    def execute_view(self, request, action_id):
        back = redirect("admin:monitoring_postloanaction_approvals")
        if request.method != "POST":
            return back
        return self._execute(request, action_id, back, approved=False)

    def _execute(self, request, action_id, back, *, approved: bool):
        try:
            action = action_services.post_loan_action_execute(action_id=action_id, actor=request.user)
        except (DomainError, ValidationError) as exc:
            if approved:
                text = _refusal(action_id, exc, named=_("%(action)s: approved, but not executed: %(errors)s"),
                                plain=_("Approved, but not executed: %(errors)s"))
            else:
                text = _refusal(action_id, exc, named=_("%(action)s not executed: %(errors)s"),
                                plain=_("Not executed: %(errors)s"))
            self.message_user(request, text, messages.ERROR)
            return back
        text = _("%(action)s: approved and executed: %(what)s.") if approved else _("%(action)s: executed: %(what)s.")
        self.message_user(request, text % {"action": wording.action_name(action), "what": wording.result_text(action)}, messages.SUCCESS)
        return back

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = action_services.post_loan_action_propose(
            kind=data["kind"], credit_line_id=getattr(data.get("credit_line"), "pk", None),
            loan_id=getattr(data.get("loan"), "pk", None), params=data.get("params") or {}, reason=data.get("reason", ""),
            actor=request.user,
        )
        obj.pk = obj.id = created.pk
        obj.status = created.status


class ActionPolicyForm(forms.ModelForm):
    """The form of a proposed change.  Its clean() proposes it through the service (the admin
    hands the form the request's user), so every refusal lands on the form; the row itself is
    never written here."""

    params = forms.JSONField(label=_("Terms"), required=False, initial=dict)
    actor = None
    proposed = None

    class Meta:
        model = ActionPolicy
        fields = ["rule", "severity", "action_kind", "params", "is_active"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.proposed = policy_changes.action_policy_change_propose(
                    actor=self.actor, policy_id=self.instance.pk, rule=data["rule"], severity=data["severity"],
                    action_kind=data["action_kind"], params=data.get("params") or {}, is_active=data["is_active"],
                )
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errs)
            except DomainError as exc:
                self.add_error(None, _error_text(exc))
        return data

    def validate_unique(self):
        pass

    def _post_clean(self):
        pass  # the row is changed only when another person approves the change


@admin.register(ActionPolicy)
class ActionPolicyAdmin(GuardedModelAdmin):
    """Saving never changes a row: it proposes the change (Monitoring › Action policy changes),
    which another person with the right to change the policy approves or rejects."""

    form = ActionPolicyForm
    list_display = ("rule_name", "severity", "action_kind", "terms", "is_active", "updated_by", "updated_at")
    list_filter = ("is_active", "severity", "action_kind")
    list_select_related = ("updated_by",)
    fields = ("rule", "severity", "action_kind", "params", "is_active")

    @admin.display(description=_("rule"), ordering="rule")
    def rule_name(self, policy):
        return wording.rule_label(policy.rule)

    @admin.display(description=_("terms"))
    def terms(self, policy):
        return wording.policy_terms(policy.action_kind, policy.params) or "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        proposed = form.proposed  # proposed by the form's clean(), inside this request's transaction
        self.message_user(request, _("Proposed %(change)s. Another person with the right to change the action policy must "
                                     "approve it before it applies.") % {"change": proposed}, messages.SUCCESS)

    def log_addition(self, request, obj, message):
        pass  # nothing was added: the change row records who proposed what

    def log_change(self, request, obj, message):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("admin:monitoring_actionpolicychange_changelist")

    def response_change(self, request, obj):
        return redirect("admin:monitoring_actionpolicychange_changelist")


class PolicyChangeActionForm(ActionForm):
    note = forms.CharField(label=_("Comment"), required=False, max_length=500, help_text=_("Required to reject."))


_POLICY_CHANGE_WORDED = {"rule": "rule_name", "params": "terms"}


@admin.register(ActionPolicyChange)
class ActionPolicyChangeAdmin(ReadOnlyModelAdmin):
    """Proposed changes to the action policy, approved (applied) or rejected with a comment by
    someone other than the proposer."""

    action_form = PolicyChangeActionForm
    list_display = ("proposed_at", "policy", "rule_name", "severity", "action_kind", "terms", "is_active", "status", "proposed_by",
                    "decided_by", "decided_at", "decision_note")
    list_filter = ("status", "rule", "severity")
    list_select_related = ("policy", "proposed_by", "decided_by")
    # The rule by name and the terms in words on the page too (not the code and the JSON).
    fields = readonly_fields = [_POLICY_CHANGE_WORDED.get(f.name, f.name) for f in ActionPolicyChange._meta.fields]
    actions = ["approve", "reject"]

    @admin.display(description=_("rule"), ordering="rule")
    def rule_name(self, change):
        return wording.rule_label(change.rule)

    @admin.display(description=_("terms"))
    def terms(self, change):
        return wording.policy_terms(change.action_kind, change.params) or "—"

    def has_decide_policy_change_permission(self, request, obj=None):
        return request.user.has_perm(policy_changes.CHANGE_PERMISSION)

    def _decide(self, request, queryset, decide, done):
        note = request.POST.get("note", "")
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                change = decide(change_id=pk, actor=request.user, note=note)
            except (DomainError, ValidationError) as exc:
                self.message_user(request, f"#{pk}: {_error_text(exc)}", messages.ERROR)
            else:
                self.message_user(request, _("%(change)s: %(done)s.") % {"change": change, "done": done}, messages.SUCCESS)

    @admin.action(permissions=["decide_policy_change"], description=_("Approve and apply the selected changes"))
    def approve(self, request, queryset):
        self._decide(request, queryset, policy_changes.action_policy_change_approve, _("applied"))

    @admin.action(permissions=["decide_policy_change"], description=_("Reject the selected changes (give a comment)"))
    def reject(self, request, queryset):
        self._decide(request, queryset, policy_changes.action_policy_change_reject, _("rejected"))


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


# --- the credit committee ---------------------------------------------------------------------


class CommitteeVoteForm(forms.Form):
    choice = forms.ChoiceField(label=_("Vote"), choices=VoteChoice.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    limit = forms.DecimalField(label=_("Lower limit"), required=False, max_digits=14, decimal_places=2)
    annual_rate = forms.DecimalField(label=_("Annual rate (fraction, e.g. 0.12)"), required=False, max_digits=8, decimal_places=6)
    required_security = forms.CharField(label=_("Required guarantee or collateral"), required=False, max_length=300)


@admin.register(CommitteeCase)
class CommitteeCaseAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "case_link", "kind", "status", "due_at", "overdue", "votes_cast", "closed_at")
    list_filter = ("status", "kind")
    search_fields = ("=id", "=subject_id", "title")
    list_select_related = ("application",)

    @admin.display(description=_("case"))
    def case_link(self, case):
        return format_html('<a href="{}">{}</a>', reverse("admin:monitoring_committeecase_case", args=[case.pk]), case.title)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, case):
        return case.is_open and case.due_at <= timezone.now()

    @admin.display(description=_("votes"))
    def votes_cast(self, case):
        return case.votes.count()

    def get_urls(self):
        return [
            path("queue/", self.permission_view(self.queue_view, "monitoring.vote"), name="monitoring_committeecase_queue"),
            path("<int:case_id>/case/", self.permission_view(self.case_view, "monitoring.view_committeecase"), name="monitoring_committeecase_case"),
            path("<int:case_id>/vote/", self.permission_view(self.vote_view, "monitoring.vote"), name="monitoring_committeecase_vote"),
            *super().get_urls(),
        ]

    def queue_view(self, request):
        queue = committee.committee_queue(request.user)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": _("My committee queue"),
            "waiting": committee.committee_case_titles(queue["waiting"]), "voted": committee.committee_case_titles(queue["voted"]), "now": now,
        }
        return TemplateResponse(request, "monitoring/committee/queue.html", context)

    def case_view(self, request, case_id):
        case = get_object_or_404(CommitteeCase, pk=case_id)
        committee.committee_case_titles([case])
        spec = committee.CASE_KINDS.get(case.kind)
        memo = spec.memo(case) if spec and spec.memo else {}
        mine = case.votes.filter(member=request.user).first()
        can_vote = case.is_open and committee.may_vote(case, request.user)
        form = CommitteeVoteForm(initial=(
            {"choice": mine.choice, "comment": mine.comment, "limit": mine.limit, "annual_rate": mine.annual_rate,
             "required_security": mine.required_security} if mine else None
        ))
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": case.display_title, "case": case,
            "memo": memo, "tally": committee.committee_case_tally(case),
            "votes": case.votes.select_related("member").order_by("created_at"), "my_vote": mine,
            "can_vote": can_vote, "form": form, "overdue": case.is_open and case.due_at <= timezone.now(),
        }
        return TemplateResponse(request, "monitoring/committee/case.html", context)

    def vote_view(self, request, case_id):
        back = redirect("admin:monitoring_committeecase_case", case_id=case_id)
        if request.method != "POST":
            return back
        form = CommitteeVoteForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            self.message_user(request, _("Vote not recorded: %(errors)s") % {"errors": errors}, messages.ERROR)
            return back
        data = form.cleaned_data
        try:
            committee.committee_vote_cast(
                case_id=case_id, actor=request.user, choice=data["choice"], comment=data["comment"],
                limit=data["limit"], annual_rate=data["annual_rate"], required_security=data["required_security"],
            )
        except (DomainError, ValidationError) as exc:
            self.message_user(request, _("Vote not recorded: %(errors)s") % {"errors": _error_text(exc)}, messages.ERROR)
            return back
        self.message_user(request, _("Your vote is recorded."), messages.SUCCESS)
        return back


@admin.register(CommitteeVote)
class CommitteeVoteAdmin(ReadOnlyModelAdmin):
    list_display = ("case", "member", "choice", "limit", "annual_rate", "required_security", "updated_at")
    list_filter = ("choice",)
    list_select_related = ("case", "member")


class SegmentInline(ReadableInlineMixin, admin.TabularInline):
    model = PortfolioSegment
    fields = ("dimension", "key", "loans_count", "outstanding_principal", "accrued_interest", "penalties",
              "expected_loss", "lines_count", "lines_limit", "lines_drawn", "lines_available")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        # Each row's title names its snapshot's date: the snapshot comes with the rows.
        return super().get_queryset(request).select_related("snapshot")


SNAPSHOT_CSV_FIELDS = (
    "as_of", "loans_count", "loans_outstanding_principal", "loans_accrued_interest", "loans_penalties",
    "lines_count", "lines_limit", "lines_drawn", "lines_available", "npl_principal", "npl_ratio",
    "expected_loss", "lgd", "top10_group_share", "industry_hhi",
)
SEGMENT_CSV_FIELDS = (
    "dimension", "key", "loans_count", "outstanding_principal", "accrued_interest", "penalties", "expected_loss",
    "lines_count", "lines_limit", "lines_drawn", "lines_available",
)


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyModelAdmin):
    """The nightly portfolio snapshots, read-only (written by the nightly run or
    ``portfolio_report``); exported as CSV by those allowed to."""

    list_display = ("as_of", "loans_count", "loans_outstanding_principal", "npl_ratio", "expected_loss",
                    "lines_available", "top10_group_share", "industry_hhi", "seconds")
    date_hierarchy = "as_of"
    readonly_fields = [f.name for f in PortfolioSnapshot._meta.fields]
    inlines = [SegmentInline]
    actions = ["export_csv"]

    @admin.action(permissions=["export_portfolio_snapshot"], description=_("Export the selected snapshots as CSV"))
    def export_csv(self, request, queryset):
        """One section per snapshot: its headline figures, then its segments."""
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="portfolio_snapshots.csv"'
        writer = csv.writer(response)
        writer.writerow(SNAPSHOT_CSV_FIELDS)
        snapshots = list(queryset.order_by("as_of"))
        for snap in snapshots:
            writer.writerow([getattr(snap, f) for f in SNAPSHOT_CSV_FIELDS])
        writer.writerow([])
        writer.writerow(("as_of", *SEGMENT_CSV_FIELDS))
        segments = PortfolioSegment.objects.filter(snapshot__in=snapshots).select_related("snapshot").order_by(
            "snapshot__as_of", "dimension", "key")
        for seg in segments:
            writer.writerow([seg.snapshot.as_of, *(getattr(seg, f) for f in SEGMENT_CSV_FIELDS)])
        return response


@admin.register(ModelMonitoring)
class ModelMonitoringAdmin(ReadOnlyModelAdmin):
    """Each model's stability (PSI) and power (back-test AUC, KS, Gini) per night."""

    list_display = ("as_of", "model", "role", "n_scored", "psi", "psi_status", "auc", "ks", "gini", "n_outcomes")
    list_filter = ("psi_status", "role", "model__subject_kind")
    list_select_related = ("model",)
    date_hierarchy = "as_of"
    readonly_fields = [f.name for f in ModelMonitoring._meta.fields]
    actions = ["propose_promotion"]

    def has_propose_model_promotion_permission(self, request, obj=None):
        return request.user.has_perm("monitoring.propose_model_promotion")

    @admin.action(permissions=["propose_model_promotion"], description=_("Propose the selected challenger for promotion"))
    def propose_promotion(self, request, queryset):
        from loans.errors import DomainError

        from .analytics.promotion import model_promotion_propose

        for model_id in sorted(set(queryset.values_list("model_id", flat=True))):
            try:
                promotion = model_promotion_propose(model_id=model_id, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, _("Proposed: %(p)s") % {"p": promotion})


@admin.register(ModelPromotion)
class ModelPromotionAdmin(ReadOnlyModelAdmin):
    """Proposed promotions, decided by someone other than the proposer."""

    list_display = ("proposed_at", "model", "status", "proposed_by", "decided_by", "decided_at", "note")
    list_filter = ("status",)
    list_select_related = ("model", "proposed_by", "decided_by")
    readonly_fields = [f.name for f in ModelPromotion._meta.fields]
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, approve: bool):
        from loans.errors import DomainError

        from .analytics.promotion import model_promotion_decide

        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                promotion = model_promotion_decide(promotion_id=pk, actor=request.user, approve=approve)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, str(promotion))

    @admin.action(permissions=["approve_model_promotion"], description=_("Approve: promote to champion"))
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(permissions=["approve_model_promotion"], description=_("Reject the proposal"))
    def reject(self, request, queryset):
        self._decide(request, queryset, False)
