"""The nightly run's bookkeeping and the early warnings it raises.

A ``ScoringRun`` is the one record of a night (one per as-of date); its ``ScoringChunk`` rows
record which id ranges are done, so a resumed run re-dispatches exactly the missing ones.
``Alert`` rows are written set-wise by ``monitoring.rules`` (at most one open per subject and
rule; a repeated hit refreshes it) with parameters from the versioned ``WarningRule``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.backoffice.formatting import format_money
from config.history.records import History
from loans.models.four_eyes import FourEyesVersion, VersionStatus, four_eyes_constraints


class RunStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("waiting to run", "Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Phase(models.TextChoices):
    PERSONS = "persons", _("1 Rescore persons")
    COMPANIES = "companies", _("2 Rescore companies")
    # Servicing before the rules: they see tonight's days past due and buckets (a loan reaching
    # M3+ tonight puts its borrower's sister companies on watch the same night).
    SERVICING = "servicing", _("3 Loan-book servicing")
    ALERTS = "alerts", _("4 Early-warning rules")
    ANALYTICS = "analytics", _("5 Portfolio analytics and model monitoring")
    DONE = "done", _("Done")


CHUNKED_PHASES = (Phase.PERSONS, Phase.COMPANIES)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("waiting to run", "Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


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
        return _("%(phase)s [%(id_from)s, %(id_to)s) of the night of %(as_of)s: %(status)s") % {
            "phase": self.get_phase_display(), "id_from": self.id_from, "id_to": self.id_to, "as_of": self.run.as_of,
            "status": self.get_status_display()}


class Severity(models.TextChoices):
    # "info": the watch list.  A rule's hit on a subject without exposure (no open line or
    # loan), or a contagion reaching a company nobody lends to, is recorded for watching only;
    # no action is proposed on it.
    INFO = "info", _("Info (watch list)")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# Most severe first: the order in which warnings are answered and queued.
SEVERITY_ORDER = (Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")


# The statuses an alert is "open" in: a rule's repeated hit refreshes such an alert.
ALERT_LIVE_STATUSES = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)

# Allowed moves of an alert (django-oscar style table); anything else is refused by name.
ALERT_TRANSITIONS = {
    AlertStatus.OPEN.value: {AlertStatus.ACKNOWLEDGED.value, AlertStatus.RESOLVED.value, AlertStatus.DISMISSED.value},
    AlertStatus.ACKNOWLEDGED.value: {AlertStatus.RESOLVED.value, AlertStatus.DISMISSED.value},
    AlertStatus.RESOLVED.value: set(),
    AlertStatus.DISMISSED.value: set(),
}


class SubjectKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")
    LINE = "line", _("Credit line")
    LOAN = "loan", _("Loan")
    SYSTEM = "system", pgettext_lazy("alert subject", "System")


SYSTEM_SUBJECT_ID = 0  # the subject of a system-level alert (subject_kind "system")


class Alert(models.Model):
    """A rule's finding about one subject (a person, company, line or loan), open until someone
    resolves or dismisses it.  At most one open (or acknowledged) alert per subject and rule: a
    repeated hit refreshes its evidence, scores and ``last_seen_on`` instead of adding a row.
    Written only by the rules (and system checks); never added or deleted by hand.  System-level
    findings (the ledger failing its verification) have subject_kind "system"."""

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    # The company at stake (the subject itself, the line's or loan's borrower, or the company a
    # person stands behind); None for a person's own watch-list alert and for system alerts.
    company = models.ForeignKey(
        "parties.Company", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="alerts",
    )
    rule = models.CharField(max_length=32)
    rule_version = models.PositiveIntegerField(null=True, blank=True, help_text=_("the WarningRule version that raised it"))
    severity = models.CharField(max_length=8, choices=Severity.choices)
    first_seen_on = models.DateField()
    last_seen_on = models.DateField()
    old_score = models.SmallIntegerField(null=True, blank=True)
    new_score = models.SmallIntegerField(null=True, blank=True)
    # What the rule saw at the latest hit: scores before/after, reason codes, dpd, exposure...
    # A database default too: the rules write alerts with set-based INSERTs.
    evidence = models.JSONField(default=dict, blank=True, db_default={})
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    detail = models.TextField(blank=True, db_default="", help_text=_("what the rule found, in words (system alerts)"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=500, blank=True, db_default="", default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_seen_on", "subject_kind", "subject_id"]
        permissions = [
            ("acknowledge_alert", _("Can acknowledge an alert")),
            ("resolve_alert", _("Can resolve an alert")),
            ("dismiss_alert", _("Can dismiss an alert")),
            ("assign_alert", _("Can assign an alert to an officer")),
            ("export_csv", _("Can export alerts as CSV")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "rule"],
                condition=Q(status__in=ALERT_LIVE_STATUSES),
                name="alert_one_open_per_subject_rule",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="alert_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(subject_kind__in=SubjectKind.values), name="alert_subject_kind_valid"),
            models.CheckConstraint(
                condition=Q(last_seen_on__gte=models.F("first_seen_on")), name="alert_seen_dates_ordered"
            ),
            # A closed alert says who closed it, when and why.
            models.CheckConstraint(
                condition=Q(status__in=ALERT_LIVE_STATUSES)
                | (Q(closed_at__isnull=False) & ~Q(close_reason="")),
                name="alert_closed_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            # /metrics counts the open alerts by severity at every scrape: an index-only scan.
            models.Index(fields=["status", "severity"], name="alert_status_severity_idx"),
            models.Index(fields=["company", "status"], name="alert_company_status_idx"),
        ]

    def __str__(self) -> str:
        # by name, as the admin's log and the pages that link it show it (monitoring.wording)
        from .wording import alert_name

        return f"{alert_name(self)} ({self.get_status_display()}, {self.last_seen_on})"

    @property
    def is_live(self) -> bool:
        return self.status in ALERT_LIVE_STATUSES


# The statuses of a version under four eyes (kept under the rules' name for their readers).
RuleVersionStatus = VersionStatus


class WarningRule(FourEyesVersion):
    """One version of a warning rule's settings: enabled, severity and parameters.  Versioned
    like the credit policy: a version is never edited once published; a change publishes a new
    version that becomes the active one (one active version per code), and every alert names
    the version that raised it.

    Maker-checker, as for the credit policy: a person *proposes* a version (status "proposed",
    inactive, its maker ``user:<id>`` recorded); another person holding
    ``monitoring.publish_warning_rule`` approves it (then it is published and active) or rejects
    it with a reason.  Only the system publishes in one step (maker ``system:<what>``)."""

    code = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    params = models.JSONField(default=dict, blank=True)
    effective_from = models.DateField(help_text=_("the first nightly run date this version applies to"))
    # Who changed what and when (config/history), shown beside the ledger in the admin.
    history = History()

    class Meta:
        ordering = ["code", "-version"]
        permissions = [("publish_warning_rule", _("Can publish a new version of a warning rule"))]
        constraints = [
            *four_eyes_constraints("warning_rule"),
            models.UniqueConstraint(fields=["code", "version"], name="warning_rule_unique_version"),
            models.UniqueConstraint(fields=["code"], condition=Q(is_active=True), name="warning_rule_one_active_per_code"),
            models.CheckConstraint(condition=Q(version__gte=1), name="warning_rule_version_positive"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="warning_rule_severity_valid"),
        ]

    def __str__(self) -> str:
        if self.status != RuleVersionStatus.PUBLISHED:
            return f"{self.code} v{self.version} ({self.get_status_display()})"
        return f"{self.code} v{self.version}{_(' (active)') if self.is_active else ''}"

    @property
    def version_name(self) -> str:
        return f"{self.code} v{self.version}"


# --- Post-loan actions ---------------------------------------------------------------------


class ActionKind(models.TextChoices):
    REDUCE_LIMIT = "reduce_limit", _("Reduce limit")
    INCREASE_LIMIT = "increase_limit", _("Increase limit")
    FREEZE_LINE = "freeze_line", _("Freeze line")
    UNFREEZE_LINE = "unfreeze_line", _("Unfreeze line")
    REQUIRE_COLLATERAL = "require_collateral", _("Require collateral")
    ADD_GUARANTEE = "add_guarantee", _("Add guarantee")
    RESTRUCTURE = "restructure", _("Restructure")
    RECALL = "recall", _("Recall")
    WRITE_OFF = "write_off", _("Write off")


# What each kind acts on: the line, the loan, or either.
LINE_KINDS = frozenset({ActionKind.REDUCE_LIMIT, ActionKind.INCREASE_LIMIT, ActionKind.FREEZE_LINE, ActionKind.UNFREEZE_LINE})
LOAN_KINDS = frozenset({ActionKind.RESTRUCTURE, ActionKind.RECALL, ActionKind.WRITE_OFF})
SECURITY_KINDS = frozenset({ActionKind.REQUIRE_COLLATERAL, ActionKind.ADD_GUARANTEE})
# Heavy actions go to the credit committee whatever their size (limit cuts above 50 % too).
COMMITTEE_KINDS = frozenset({ActionKind.RESTRUCTURE, ActionKind.RECALL, ActionKind.WRITE_OFF})


class ActionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    PENDING_COMMITTEE = "pending_committee", _("Pending committee")
    APPROVED = "approved", _("Approved")
    EXECUTED = "executed", _("Executed")
    MET = "met", _("Met (security pledged)")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    # By the system: its own proposal, still waiting for a decision, whose warning cleared.
    WITHDRAWN = "withdrawn", _("Withdrawn (warning cleared)")


OPEN_ACTION_STATUSES = (ActionStatus.PROPOSED, ActionStatus.PENDING_COMMITTEE, ActionStatus.APPROVED)

# Allowed moves of an action (django-oscar style table).  Only an action nobody has decided yet
# may be withdrawn: once approved, a person has taken responsibility for it.
ACTION_TRANSITIONS = {
    ActionStatus.PROPOSED.value: {ActionStatus.APPROVED.value, ActionStatus.REJECTED.value, ActionStatus.CANCELLED.value,
                                  ActionStatus.WITHDRAWN.value},
    ActionStatus.PENDING_COMMITTEE.value: {ActionStatus.APPROVED.value, ActionStatus.REJECTED.value,
                                           ActionStatus.CANCELLED.value, ActionStatus.WITHDRAWN.value},
    ActionStatus.APPROVED.value: {ActionStatus.EXECUTED.value, ActionStatus.CANCELLED.value},
    ActionStatus.EXECUTED.value: {ActionStatus.MET.value},
    ActionStatus.MET.value: set(),
    ActionStatus.REJECTED.value: set(),
    ActionStatus.CANCELLED.value: set(),
    ActionStatus.WITHDRAWN.value: set(),
}
WITHDRAWABLE_ACTION_STATUSES = tuple(s for s, moves in ACTION_TRANSITIONS.items() if ActionStatus.WITHDRAWN.value in moves)


class PostLoanAction(models.Model):
    """One measure on a borrower's line or loan, from proposal to effect.

    Proposed by an officer or by the system (``proposed_by`` NULL), approved by someone else
    (maker-checker) or by the credit committee, then executed by ``monitoring.actions``: the
    line or loan changes, the ledger records it, the owning partner is told.  A collateral or
    guarantee request stays ``executed`` (requested) until it is met by a pledge."""

    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    status = models.CharField(max_length=20, choices=ActionStatus.choices, default=ActionStatus.PROPOSED)
    company = models.ForeignKey("parties.Company", on_delete=models.PROTECT, related_name="post_loan_actions")
    credit_line = models.ForeignKey(
        "loans.CreditLine", null=True, blank=True, on_delete=models.PROTECT, related_name="post_loan_actions"
    )
    loan = models.ForeignKey("loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="post_loan_actions")
    params = models.JSONField(default=dict, blank=True, help_text=_("the action's terms, validated per kind"))
    reason = models.CharField(max_length=500, blank=True, default="")
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions",
        help_text=_("the warning this action answers, if any"),
    )
    needs_committee = models.BooleanField(default=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("empty: proposed by the system"),
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("empty with an execution date: executed by the system"),
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text=_("what the execution changed: before and after"))
    due_date = models.DateField(null=True, blank=True, help_text=_("collateral / guarantee: pledge by this date"))
    amount_needed = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by_collateral = models.ForeignKey("loans.Collateral", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    met_by_guarantee = models.ForeignKey("loans.Guarantee", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Set by the night when the warning this action answers cleared while a person's proposal
    # still waited: it stays for its approver to decide, who sees why it may no longer be needed.
    alert_cleared_on = models.DateField(
        _("warning cleared on"), null=True, blank=True,
        help_text=_("the warning this action answers cleared on this date while the action waited for a decision"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("propose_action", "Can propose a post-loan action"),
            ("approve_action", "Can approve or reject a post-loan action"),
            ("execute_action", "Can execute an approved post-loan action"),
        ]
        indexes = [
            models.Index(fields=["company", "-id"], name="pla_company_idx"),
            models.Index(fields=["status", "kind"], name="pla_status_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="pla_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="pla_status_valid"),
            models.CheckConstraint(
                condition=Q(credit_line__isnull=False) | Q(loan__isnull=False), name="pla_has_subject"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | Q(proposed_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="pla_approver_not_proposer",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ActionStatus.EXECUTED, ActionStatus.MET]) | Q(executed_at__isnull=False),
                name="pla_executed_has_date",
            ),
            models.CheckConstraint(condition=~Q(status=ActionStatus.MET) | Q(met_at__isnull=False), name="pla_met_has_date"),
            # A withdrawal records when and why (the system withdraws: no person).
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.WITHDRAWN) | (Q(decided_at__isnull=False) & ~Q(decision_note="")),
                name="pla_withdrawn_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[ActionKind.REQUIRE_COLLATERAL, ActionKind.ADD_GUARANTEE])
                | (Q(due_date__isnull=False) & Q(amount_needed__gt=0)),
                name="pla_security_has_due_and_value",
            ),
            # The nightly proposals: at most one system proposal per warning, however often it runs.
            models.UniqueConstraint(
                fields=["alert"], condition=Q(alert__isnull=False) & Q(proposed_by__isnull=True),
                name="pla_one_system_proposal_per_alert",
            ),
        ]

    def __str__(self) -> str:
        from .wording import action_subject

        return f"{self.get_kind_display()} — {action_subject(self)} ({self.get_status_display()})"


class ActionPolicy(models.Model):
    """Which action the nightly run proposes for a warning of a rule at a severity."""

    rule = models.CharField(max_length=32, help_text=_("the rule's code, e.g. score_drop"))
    severity = models.CharField(max_length=8, choices=Severity.choices)
    action_kind = models.CharField(max_length=20, choices=ActionKind.choices)
    params = models.JSONField(default=dict, blank=True, help_text=_("the recommended action's terms"))
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed what and when (config/history), shown beside the ledger in the admin.
    history = History()

    class Meta:
        ordering = ["rule", "severity"]
        verbose_name_plural = "action policies"
        constraints = [
            models.UniqueConstraint(fields=["rule", "severity"], name="action_policy_unique_rule_severity"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="action_policy_severity_valid"),
            models.CheckConstraint(condition=Q(action_kind__in=ActionKind.values), name="action_policy_kind_valid"),
        ]

    def __str__(self) -> str:
        from .wording import rule_label

        return f"{rule_label(self.rule)} / {self.get_severity_display()} → {self.get_action_kind_display()}"

    def clean(self):
        from .actions import policy_params_check

        policy_params_check(self.action_kind, self.params)


class PolicyChangeStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")


class ActionPolicyChange(models.Model):
    """A person's change to the action policy (a new row, or new terms for an existing one),
    held until another person with the right to change the policy approves it (then it is
    applied to the ``ActionPolicy`` row) or rejects it with a reason (maker-checker)."""

    policy = models.ForeignKey(ActionPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="changes",
                               verbose_name=_("policy row"), help_text=_("empty: the change adds a row"))
    rule = models.CharField(_("rule"), max_length=32)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    action_kind = models.CharField(_("action"), max_length=20, choices=ActionKind.choices)
    params = models.JSONField(_("terms"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    # The row as it was when the change was proposed: approving is refused once it changed since.
    based_on_updated_at = models.DateTimeField(_("row as of"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=PolicyChangeStatus.choices, default=PolicyChangeStatus.PROPOSED)
    maker = models.CharField(_("maker"), max_length=64, help_text=_("who proposed the change: user:<id>"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = _("action policy change")
        verbose_name_plural = _("action policy changes")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PolicyChangeStatus.values), name="action_policy_change_status_valid"),
            models.CheckConstraint(condition=~Q(maker=""), name="action_policy_change_maker_recorded"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="action_policy_change_severity_valid"),
            models.CheckConstraint(condition=Q(action_kind__in=ActionKind.values), name="action_policy_change_kind_valid"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | Q(proposed_by__isnull=True) | ~Q(decided_by=F("proposed_by"))
                | Q(status=PolicyChangeStatus.REJECTED),
                name="action_policy_change_approver_not_proposer",
            ),
            models.CheckConstraint(
                condition=Q(status=PolicyChangeStatus.PROPOSED, decided_at__isnull=True)
                | (~Q(status=PolicyChangeStatus.PROPOSED) & Q(decided_at__isnull=False)),
                name="action_policy_change_decided_has_date",
            ),
        ]

    def __str__(self) -> str:
        from .wording import rule_label

        return _("Change #%(id)s to %(rule)s / %(severity)s (%(status)s)") % {
            "id": self.pk, "rule": rule_label(self.rule), "severity": self.get_severity_display(),
            "status": self.get_status_display()}



# --- The credit committee ---------------------------------------------------------------------


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")  # the action put to the committee was withdrawn


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
    policy_version = models.PositiveIntegerField(
        _("credit policy version"), null=True, blank=True, help_text=_("the policy whose committee rules the case follows"),
    )
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
            "as_of": self.as_of, "n": self.loans_count, "p": format_money(self.loans_outstanding_principal)})


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
        return _("%(as_of)s, %(dimension)s %(key)s: %(amount)s") % {
            "as_of": self.snapshot.as_of, "dimension": self.get_dimension_display(), "key": self.key or "—",
            "amount": format_money(self.outstanding_principal)}


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
