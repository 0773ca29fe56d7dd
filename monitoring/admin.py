from django.contrib import admin

from config.backoffice.permissions import GuardedModelAdmin

from .models import EarlyWarning, ScoringChunk, ScoringRun


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
