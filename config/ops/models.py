"""What the operations layer keeps: the last result of every scheduled job."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobOutcome(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class JobStatus(models.Model):
    """One row per periodic task (django-celery-beat ``PeriodicTask.name``), overwritten by
    each run: when it last ran, how it ended and what it returned or raised.  The history of
    runs is in the logs; this is the at-a-glance answer the admin and /metrics show."""

    name = models.CharField(_("periodic task"), max_length=200, unique=True)
    task = models.CharField(_("task"), max_length=200)
    last_status = models.CharField(_("last status"), max_length=10, choices=JobOutcome.choices)
    last_started_at = models.DateTimeField(_("last started"))
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_seconds = models.FloatField(_("last duration (s)"), null=True, blank=True)
    last_result = models.CharField(_("last result"), max_length=500, blank=True, default="")
    last_error = models.CharField(_("last error"), max_length=1000, blank=True, default="")
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("periodic job result")
        verbose_name_plural = _("periodic job results")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_status__in=JobOutcome.values), name="job_status_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.get_last_status_display()}"
