from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from config.backoffice.admin import PeriodicTaskAdmin
from config.backoffice.permissions import ReadOnlyModelAdmin

from .models import JobOutcome, JobStatus


@admin.register(JobStatus)
class JobStatusAdmin(ReadOnlyModelAdmin):
    """Written by the jobs themselves (``config.ops.jobs``): read-only here."""

    list_display = (
        "name",
        "task",
        "last_status",
        "last_started_at",
        "last_seconds",
        "last_result",
        "last_error",
        "last_success_at",
        "runs",
        "failures",
    )
    list_filter = ("last_status",)
    search_fields = ("name", "task")
    readonly_fields = [f.name for f in JobStatus._meta.fields]


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskWithResultAdmin(PeriodicTaskAdmin):
    """django-celery-beat's periodic task admin (guarded: its actions need the change
    permission) with each job's last result beside it, and its form's inline script served
    as a file (Content Security Policy)."""

    change_form_template = "ops/admin/periodictask_change_form.html"
    list_display = (*PeriodicTaskAdmin.list_display, "last_result")

    def get_queryset(self, request):
        status = JobStatus.objects.filter(name=OuterRef("name"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _last_status=Subquery(status.values("last_status")[:1]),
                _last_result=Subquery(status.values("last_result")[:1]),
                _last_error=Subquery(status.values("last_error")[:1]),
            )
        )

    @admin.display(description=_("last result"))
    def last_result(self, task):
        status = getattr(task, "_last_status", None)
        if status is None:
            return _("not run yet")
        label = JobOutcome(status).label
        detail = task._last_error if status == JobOutcome.FAILED else task._last_result
        return f"{label}: {detail}" if detail else label
