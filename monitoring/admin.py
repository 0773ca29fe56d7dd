import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin
from loans.errors import DomainError

from . import alerts as alert_services
from .models import Alert, ScoringChunk, ScoringRun, WarningRule
from .rules import RULES, rule_params_validate, warning_rule_publish


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


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


class AlertActionForm(ActionForm):
    """The action bar of the alert list: why (resolve, dismiss) and to whom (assign)."""

    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
    officer = forms.ModelChoiceField(
        label=_("Officer"), required=False, queryset=get_user_model().objects.filter(is_staff=True, is_active=True)
    )


_SUBJECT_ADMIN = {"company": "loans_company", "person": "loans_person", "line": "loans_creditline", "loan": "loans_loan"}


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    """Alerts are raised by the rules only: never added, edited or deleted here.  The actions
    move them through their lifecycle (each with its own permission) and record who did it."""

    action_form = AlertActionForm
    list_display = (
        "last_seen_on", "rule", "severity", "subject", "status", "old_score", "new_score", "first_seen_on", "assigned_to",
    )
    list_filter = ("rule", "severity", "status", "subject_kind")
    list_select_related = ("company", "assigned_to")
    date_hierarchy = "last_seen_on"
    search_fields = ("=subject_id", "company__legal_name")
    readonly_fields = [f.name for f in Alert._meta.fields] + ["subject", "evidence_pretty"]
    actions = ["acknowledge", "resolve", "dismiss", "assign"]

    def get_queryset(self, request):
        from loans.models import Person

        # A person subject's name in the same query (no query per row in the list).
        return super().get_queryset(request).annotate(
            person_name=Subquery(Person.objects.filter(pk=OuterRef("subject_id")).values("name")[:1])
        )

    @admin.display(description=_("subject"))
    def subject(self, alert):
        kind = alert.subject_kind
        if kind == "system":
            return _("System")
        if kind == "person":
            label = getattr(alert, "person_name", None) or f"#{alert.subject_id}"
        elif kind == "company":
            label = alert.company.legal_name if alert.company_id and alert.company else f"#{alert.subject_id}"
        else:
            owner = alert.company.legal_name if alert.company_id and alert.company else ""
            label = f"{_('Line') if kind == 'line' else _('Loan')} #{alert.subject_id}" + (f" — {owner}" if owner else "")
        try:
            url = reverse(f"admin:{_SUBJECT_ADMIN[kind]}_change", args=[alert.subject_id])
        except (KeyError, NoReverseMatch):
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=_("evidence"))
    def evidence_pretty(self, alert):
        return format_html("<pre>{}</pre>", json.dumps(alert.evidence, indent=2, ensure_ascii=False, default=str))

    def _each(self, request, queryset, move, done: str):
        moved, failed = 0, []
        for alert_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                move(alert_id)
                moved += 1
            except (DomainError, ValidationError) as exc:
                failed.append(f"#{alert_id}: {_error_text(exc)}")
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
    code = forms.ChoiceField(label=_("Rule"), choices=[(c, c) for c in RULES])
    params = forms.JSONField(label=_("Parameters"), required=False, initial=dict)

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
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errs)
        return data

    def validate_unique(self):
        pass  # a save publishes a new version; the edited row is never written

    def _post_clean(self):
        pass


@admin.register(WarningRule)
class WarningRuleAdmin(GuardedModelAdmin):
    """Saving never edits a version: it publishes a new one (active from its effective date),
    so add and change both need the right to publish; versions are never deleted."""

    form = WarningRuleForm
    list_display = ("code", "version", "is_active", "enabled", "severity", "params", "effective_from", "created_at", "created_by")
    list_filter = ("code", "is_active", "severity")
    list_select_related = ("created_by",)
    readonly_fields = ("version", "is_active", "created_at", "created_by")

    def has_add_permission(self, request):
        return request.user.has_perm("monitoring.publish_warning_rule")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("monitoring.publish_warning_rule")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        new = warning_rule_publish(
            code=data["code"], severity=data["severity"], params=data["params"], enabled=data["enabled"],
            effective_from=data["effective_from"], note=data.get("note") or "", actor=request.user,
        )
        obj.pk, obj.version, obj.is_active = new.pk, new.version, True
        self.message_user(
            request, _("Published %(code)s v%(v)s; earlier versions are kept unchanged.") % {"code": new.code, "v": new.version},
            messages.SUCCESS,
        )
