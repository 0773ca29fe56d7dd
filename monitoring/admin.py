from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin
from loans.errors import DomainError

from . import committee
from .models import CommitteeCase, CommitteeVote, EarlyWarning, ScoringChunk, ScoringRun, VoteChoice


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


# --- the credit committee ---------------------------------------------------------------------


class CommitteeVoteForm(forms.Form):
    choice = forms.ChoiceField(label=_("Vote"), choices=VoteChoice.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    limit = forms.DecimalField(label=_("Lower limit"), required=False, max_digits=14, decimal_places=2)
    annual_rate = forms.DecimalField(label=_("Annual rate (fraction, e.g. 0.12)"), required=False, max_digits=8, decimal_places=6)
    required_security = forms.CharField(label=_("Required guarantee or collateral"), required=False, max_length=300)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


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
            "waiting": queue["waiting"], "voted": queue["voted"], "now": now,
        }
        return TemplateResponse(request, "monitoring/committee/queue.html", context)

    def case_view(self, request, case_id):
        case = get_object_or_404(CommitteeCase, pk=case_id)
        spec = committee.CASE_KINDS.get(case.kind)
        memo = spec.memo(case) if spec and spec.memo else {}
        mine = case.votes.filter(member=request.user).first()
        can_vote = case.is_open and committee.may_vote(case, request.user)
        form = CommitteeVoteForm(initial=(
            {"choice": mine.choice, "comment": mine.comment, "limit": mine.limit, "annual_rate": mine.annual_rate,
             "required_security": mine.required_security} if mine else None
        ))
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": case.title, "case": case,
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
