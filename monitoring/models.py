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
    ANALYTICS = "analytics", "5 Portfolio analytics and model monitoring"
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


# --- portfolio analytics and model monitoring (issue 15) -------------------------------------


class PortfolioSnapshot(models.Model):
    """The book's health at the end of one night: headline figures in columns (so lists and
    trends read them without opening JSON), the tables (five categories, buckets, migration,
    roll rates, vintages, concentration, alerts) in ``tables``, segments in ``PortfolioSegment``.
    Written set-based by ``monitoring.analytics.portfolio.portfolio_snapshot_compute``; a rerun
    of a date replaces the whole snapshot in one transaction."""

    as_of = models.DateField()
    run = models.ForeignKey(ScoringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    loans_count = models.PositiveIntegerField(default=0)
    loans_outstanding_principal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    loans_accrued_interest = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    loans_penalties = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_count = models.PositiveIntegerField(default=0)
    lines_limit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_drawn = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_available = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    npl_principal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    npl_ratio = models.DecimalField(max_digits=9, decimal_places=6, default=0, help_text=_("(substandard + doubtful + loss) / outstanding principal"))
    expected_loss = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lgd = models.DecimalField(max_digits=5, decimal_places=4, default=0, help_text=_("LGD of the active credit policy used for expected loss"))
    top10_group_share = models.DecimalField(max_digits=9, decimal_places=6, default=0)
    industry_hhi = models.DecimalField(max_digits=9, decimal_places=6, default=0)
    previous_as_of = models.DateField(null=True, blank=True, help_text=_("the snapshot the tier migration compares with"))
    roll_from_as_of = models.DateField(null=True, blank=True, help_text=_("the snapshot about a month earlier the roll rates compare with"))
    tables = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        permissions = [("export_portfolio_snapshot", _("Can export portfolio snapshots as CSV"))]
        constraints = [
            models.UniqueConstraint(fields=["as_of"], name="portfolio_snapshot_unique_date"),
            models.CheckConstraint(condition=Q(npl_ratio__gte=0) & Q(npl_ratio__lte=1), name="portfolio_snapshot_npl_ratio_range"),
            models.CheckConstraint(condition=Q(lgd__gte=0) & Q(lgd__lte=1), name="portfolio_snapshot_lgd_range"),
        ]

    def __str__(self) -> str:
        return str(_("portfolio on %(as_of)s: %(n)s loans, %(p)s outstanding") % {
            "as_of": self.as_of, "n": self.loans_count, "p": self.loans_outstanding_principal})


class SegmentDimension(models.TextChoices):
    TIER = "tier", _("Tier")
    PRODUCT = "product", _("Product")
    INDUSTRY = "industry", _("Industry")
    PROVINCE = "province", _("Province")
    PARTNER = "partner", _("Partner")
    CLASSIFICATION = "classification", _("Five categories")
    BUCKET = "bucket", _("DPD bucket")


class PortfolioSegment(models.Model):
    """One segment of a snapshot: the loans and lines of one tier, product, industry, ..."""

    snapshot = models.ForeignKey(PortfolioSnapshot, on_delete=models.CASCADE, related_name="segments")
    dimension = models.CharField(max_length=16, choices=SegmentDimension.choices)
    key = models.CharField(max_length=64, help_text=_("tier letter, product code, industry code, ...; '' = none"))
    loans_count = models.PositiveIntegerField(default=0)
    outstanding_principal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    accrued_interest = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    penalties = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    expected_loss = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_count = models.PositiveIntegerField(default=0)
    lines_limit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_drawn = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    lines_available = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["snapshot", "dimension", "key"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "dimension", "key"], name="portfolio_segment_unique_key"),
            models.CheckConstraint(condition=Q(dimension__in=SegmentDimension.values), name="portfolio_segment_dimension_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot.as_of} {self.dimension}={self.key or '-'}: {self.outstanding_principal}"


class LoanPosition(models.Model):
    """An active loan as it stood in one snapshot (bucket, tier, outstanding): what the next
    snapshot's tier migration and next month's roll rates compare with.  Written by one
    INSERT ... SELECT; kept for the last 40 days and for month-ends (see ``positions_prune``)."""

    snapshot = models.ForeignKey(PortfolioSnapshot, on_delete=models.CASCADE, related_name="positions", db_index=False)
    loan_id = models.BigIntegerField()
    company_id = models.BigIntegerField()
    group_key = models.BigIntegerField(help_text=_("borrower group (its smallest company id), else the company"))
    product_id = models.BigIntegerField()
    partner_id = models.BigIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=1)
    province = models.CharField(max_length=2)
    tier = models.CharField(max_length=1, blank=True, help_text=_("tier of the company's score on the date; '' = unscored"))
    pd = models.FloatField(null=True, blank=True)
    bucket = models.CharField(max_length=8)
    classification = models.CharField(max_length=16)
    outstanding_principal = models.DecimalField(max_digits=18, decimal_places=2)
    accrued_interest = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    penalties = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    expected_loss = models.DecimalField(max_digits=18, decimal_places=2, default=0, help_text=_("PD x outstanding x LGD"))

    class Meta:
        ordering = ["snapshot", "loan_id"]
        constraints = [models.UniqueConstraint(fields=["snapshot", "loan_id"], name="loan_position_unique_loan")]

    def __str__(self) -> str:
        return f"loan #{self.loan_id} on {self.snapshot.as_of}: {self.bucket}, tier {self.tier or '-'}"


class DriftStatus(models.TextChoices):
    OK = "ok", _("Stable")
    WARN = "warn", _("Warn (PSI ≥ 0.10)")
    ALERT = "alert", _("Alert (PSI ≥ 0.25)")
    NO_REFERENCE = "no_reference", _("No reference distribution")
    NO_SCORES = "no_scores", _("No scores on the date")


class ModelMonitoring(models.Model):
    """One model on one night: its score distribution against its reference (PSI), each
    characteristic's PSI, and the latest back-test over realised outcomes (per observation
    month in ``backtest``).  One row per (date, model): the trends the dashboard draws."""

    as_of = models.DateField()
    model = models.ForeignKey("scoring.ScoreModel", on_delete=models.PROTECT, related_name="monitoring")
    role = models.CharField(max_length=10, help_text=_("champion or challenger on the date"))
    n_scored = models.PositiveIntegerField(default=0)
    psi = models.FloatField(null=True, blank=True)
    psi_status = models.CharField(max_length=12, choices=DriftStatus.choices)
    score_distribution = models.JSONField(default=dict, blank=True, help_text=_("edges, counts and reference counts"))
    characteristic_psi = models.JSONField(default=dict, blank=True)
    auc = models.FloatField(null=True, blank=True, help_text=_("back-test over every observation with an outcome"))
    ks = models.FloatField(null=True, blank=True)
    gini = models.FloatField(null=True, blank=True)
    n_outcomes = models.PositiveIntegerField(default=0)
    backtest = models.JSONField(default=list, blank=True, help_text=_("per observation month: n, bads, auc, ks, gini"))
    calibration = models.JSONField(default=list, blank=True, help_text=_("per tier: n, bad rate, mean PD"))
    shadow = models.JSONField(default=dict, blank=True, help_text=_("a challenger in shadow against the champion: mean scores, swap set"))
    messages = models.JSONField(default=list, blank=True, help_text=_("what was missing (no reference, months without outcomes)"))
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of", "model"]
        constraints = [
            models.UniqueConstraint(fields=["as_of", "model"], name="model_monitoring_unique_date_model"),
            models.CheckConstraint(condition=Q(psi_status__in=DriftStatus.values), name="model_monitoring_status_valid"),
            models.CheckConstraint(condition=Q(psi__isnull=True) | Q(psi__gte=0), name="model_monitoring_psi_non_negative"),
        ]

    def __str__(self) -> str:
        psi = "-" if self.psi is None else f"{self.psi:.3f}"
        return f"{self.model} on {self.as_of}: PSI {psi} ({self.psi_status})"


class PromotionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ModelPromotion(models.Model):
    """A proposal to make a challenger the champion, decided by someone else (maker-checker)."""

    model = models.ForeignKey("scoring.ScoreModel", on_delete=models.PROTECT, related_name="promotions")
    status = models.CharField(max_length=10, choices=PromotionStatus.choices, default=PromotionStatus.PENDING)
    evidence = models.JSONField(default=dict, blank=True, help_text=_("the monitoring figures the proposal was made on"))
    note = models.CharField(max_length=500, blank=True, default="")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        permissions = [
            ("propose_model_promotion", _("Can propose a challenger for promotion")),
            ("approve_model_promotion", _("Can approve or reject a proposed promotion")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PromotionStatus.values), name="model_promotion_status_valid"),
            models.UniqueConstraint(fields=["model"], condition=Q(status="pending"), name="model_promotion_one_pending"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="model_promotion_maker_is_not_checker",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True) | (~Q(status="pending") & Q(decided_by__isnull=False)),
                name="model_promotion_decided_has_checker",
            ),
        ]

    def __str__(self) -> str:
        return str(_("promotion of %(m)s (%(s)s)") % {"m": self.model, "s": self.status})
