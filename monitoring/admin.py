import csv

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin

from .models import (
    EarlyWarning,
    ModelMonitoring,
    ModelPromotion,
    PortfolioSegment,
    PortfolioSnapshot,
    ScoringChunk,
    ScoringRun,
)


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


class SegmentInline(admin.TabularInline):
    model = PortfolioSegment
    fields = ("dimension", "key", "loans_count", "outstanding_principal", "accrued_interest", "penalties",
              "expected_loss", "lines_count", "lines_limit", "lines_drawn", "lines_available")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


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
