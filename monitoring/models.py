"""The nightly run's bookkeeping and the early warnings it raises.

A ``ScoringRun`` is the one record of a night (one per as-of date); its ``ScoringChunk`` rows
record which id ranges are done, so a resumed run re-dispatches exactly the missing ones.
``EarlyWarning`` rows are written set-wise by ``monitoring.rules``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Phase(models.TextChoices):
    PERSONS = "persons", "1 Rescore persons"
    COMPANIES = "companies", "2 Rescore companies"
    ALERTS = "alerts", "3 Early-warning rules"
    SERVICING = "servicing", "4 Loan-book servicing"
    DONE = "done", "Done"


CHUNKED_PHASES = (Phase.PERSONS, Phase.COMPANIES)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ScoringRun(models.Model):
    """The nightly rescoring of one as-of date: persons, companies, warning rules, servicing."""

    as_of = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.PERSONS)
    mode = models.CharField(max_length=8, default="sync", help_text="sync (in-process) or workers (Celery)")
    chunk_size = models.PositiveIntegerField(default=25_000)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="persons, companies, alerts, loans_serviced, ...")
    timings = models.JSONField(default=dict, blank=True, help_text="seconds per phase")
    attempts = models.PositiveIntegerField(default=0, help_text="how many times the run was started or resumed")
    started_at = models.DateTimeField(null=True, blank=True)
    phase_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of the run")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="scoring_run_status_valid"),
            models.CheckConstraint(condition=Q(phase__in=Phase.values), name="scoring_run_phase_valid"),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")), name="scoring_run_chunks_done_le_total"
            ),
        ]
        indexes = [models.Index(fields=["status", "-as_of"], name="scoring_run_status_idx")]

    def __str__(self) -> str:
        return f"nightly run {self.as_of} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ScoringChunk(models.Model):
    """A half-open id range [id_from, id_to) of one scoring phase of a run."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="chunks")
    phase = models.CharField(max_length=10, choices=[(p.value, p.label) for p in CHUNKED_PHASES])
    id_from = models.BigIntegerField()
    id_to = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    written = models.PositiveIntegerField(default=0)
    no_snapshot = models.PositiveIntegerField(default=0, help_text="subjects without credit data on or before the date")
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True, help_text="when the latest attempt began")
    seconds = models.FloatField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid that took the latest attempt")
    peak_rss_mb = models.FloatField(null=True, blank=True, help_text="the worker process's peak RSS after the chunk")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "phase", "id_from"]
        constraints = [
            models.UniqueConstraint(fields=["run", "phase", "id_from"], name="scoring_chunk_unique_range"),
            models.CheckConstraint(condition=Q(id_to__gt=models.F("id_from")), name="scoring_chunk_range_nonempty"),
            models.CheckConstraint(condition=Q(status__in=ChunkStatus.values), name="scoring_chunk_status_valid"),
        ]
        indexes = [models.Index(fields=["run", "phase", "status"], name="scoring_chunk_progress_idx")]

    def __str__(self) -> str:
        return f"{self.phase} [{self.id_from}, {self.id_to}) of {self.run.as_of}: {self.status}"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


SYSTEM_SUBJECT_ID = 0  # the subject of a system-level alert (subject_kind "system")


class EarlyWarning(models.Model):
    """A rule hit on fresh data for one subject at one date; at most one per rule.  System-level
    findings (the ledger failing its verification) have subject_kind "system"."""

    subject_kind = models.CharField(
        max_length=8, choices=[("person", "Person 个人"), ("company", "Company 企业"), ("system", "System 系统")]
    )
    subject_id = models.BigIntegerField()
    as_of = models.DateField()
    rule = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    old_score = models.SmallIntegerField(null=True, blank=True)
    new_score = models.SmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    # A database default too: the rules write warnings with set-based INSERTs that do not name it.
    detail = models.TextField(blank=True, db_default="", help_text="what the rule found, in words (system alerts)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "subject_kind", "subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "as_of", "rule"], name="early_warning_unique_hit"
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="early_warning_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="early_warning_status_valid"),
        ]
        indexes = [
            models.Index(fields=["as_of", "rule", "status"], name="early_warning_date_rule_idx"),
            # /metrics counts the open alerts by severity at every scrape: an index-only scan.
            models.Index(fields=["status", "severity"], name="early_warning_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.subject_kind} #{self.subject_id} ({self.as_of})"


# --- The credit committee ---------------------------------------------------------------------


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    LAPSED = "lapsed", _("Lapsed")


class VoteChoice(models.TextChoices):
    APPROVE = "approve", _("Approve")
    APPROVE_WITH_CONDITIONS = "approve_conditions", _("Approve with conditions")
    REJECT = "reject", _("Reject")
    MORE_INFORMATION = "more_info", _("More information")


APPROVING = (VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CONDITIONS)


class CommitteeCase(models.Model):
    """One matter put to the credit committee: a referred application (kind ``application``)
    or an escalated post-loan action (kind ``post_loan_action``, see ``monitoring.committee``).
    ``subject_id`` is the application's or the action's id; the memo is built from the data
    when the case opens and kept, so the members decide on what they saw."""

    kind = models.CharField(_("kind"), max_length=32)
    subject_id = models.BigIntegerField(_("subject"))
    application = models.ForeignKey(
        "loans.LoanApplication", null=True, blank=True, on_delete=models.PROTECT, related_name="committee_cases"
    )
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    # Who made the thing decided on ("user:<id>", "partner:<id>", ...) and the applicant's
    # officer: neither may vote.
    maker = models.CharField(_("maker"), max_length=64)
    excluded_user_ids = models.JSONField(_("users who may not vote"), default=list, blank=True)
    quorum = models.PositiveSmallIntegerField(_("quorum"), default=3)
    majority = models.PositiveSmallIntegerField(_("majority"), default=2)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"))
    lapses_at = models.DateTimeField(_("lapses at"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome_reason = models.TextField(_("outcome reason"), blank=True, default="")
    outcome_terms = models.JSONField(_("terms decided"), default=dict, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("committee case")
        verbose_name_plural = _("committee cases")
        permissions = [("vote", _("Can vote on committee cases"))]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_id"], name="committee_case_one_per_subject"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="committee_case_status_valid"),
            models.CheckConstraint(
                condition=Q(quorum__gte=1) & Q(majority__gte=1) & Q(majority__lte=models.F("quorum")),
                name="committee_case_quorum_majority",
            ),
            models.CheckConstraint(condition=~Q(maker=""), name="committee_case_maker_recorded"),
            models.CheckConstraint(
                condition=Q(status=CaseStatus.OPEN, closed_at__isnull=True) | (~Q(status=CaseStatus.OPEN) & Q(closed_at__isnull=False)),
                name="committee_case_closed_when_decided",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="committee_case_queue_idx")]

    def __str__(self) -> str:
        return _("Case #%(id)s: %(title)s (%(status)s)") % {"id": self.pk, "title": self.title, "status": self.get_status_display()}

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class CommitteeVote(models.Model):
    """A member's vote on a case; one per member, changeable until the case closes."""

    case = models.ForeignKey(CommitteeCase, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="committee_votes")
    choice = models.CharField(_("vote"), max_length=20, choices=VoteChoice.choices)
    comment = models.TextField(_("comment"))
    # Conditions of an "approve with conditions" vote.
    limit = models.DecimalField(_("lower limit"), max_digits=14, decimal_places=2, null=True, blank=True)
    annual_rate = models.DecimalField(_("annual rate"), max_digits=8, decimal_places=6, null=True, blank=True)
    required_security = models.CharField(_("required guarantee or collateral"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "created_at"]
        verbose_name = _("committee vote")
        verbose_name_plural = _("committee votes")
        constraints = [
            models.UniqueConstraint(fields=["case", "member"], name="committee_vote_one_per_member"),
            models.CheckConstraint(condition=Q(choice__in=VoteChoice.values), name="committee_vote_choice_valid"),
            models.CheckConstraint(condition=~Q(comment=""), name="committee_vote_comment_required"),
            models.CheckConstraint(condition=Q(limit__isnull=True) | Q(limit__gt=0), name="committee_vote_limit_positive"),
            models.CheckConstraint(
                condition=Q(annual_rate__isnull=True) | (Q(annual_rate__gte=0) & Q(annual_rate__lt=1)),
                name="committee_vote_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(choice=VoteChoice.APPROVE_WITH_CONDITIONS)
                | (Q(limit__isnull=True) & Q(annual_rate__isnull=True) & Q(required_security="")),
                name="committee_vote_conditions_only_when_conditional",
            ),
        ]

    def __str__(self) -> str:
        return _("%(member)s: %(choice)s on case #%(case)s") % {
            "member": self.member, "choice": self.get_choice_display(), "case": self.case_id,
        }
