"""Credit data snapshots, realised outcomes, scorecard models, scores and latest-score pointers.

Snapshots and scores are appended, never updated.  Scores carry ``subject_kind`` and a bare
``subject_id`` (no foreign key) so people and companies share one table and COPY stays simple.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .features import COMPANY_FEATURES, PERSON_FEATURES
from .fields import StoredJSONField


class SubjectKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")
    # Models trained through ``train_scorecard --csv`` on arbitrary data: never used to score
    # people or companies of this product.
    EXTERNAL = "external", _("External data set")


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CHALLENGER = "challenger", _("Challenger")
    CHAMPION = "champion", _("Champion")
    RETIRED = "retired", _("Retired")


class Tier(models.TextChoices):
    A = "A", "A (≥ 750)"
    B = "B", "B (≥ 700)"
    C = "C", "C (≥ 650)"
    D = "D", "D (≥ 600)"
    E = "E", "E (< 600)"


def _feature_field(feature):
    if feature.integer:
        return models.IntegerField(null=True, blank=True, help_text=f"{feature.meaning} ({feature.unit})")
    return models.FloatField(null=True, blank=True, help_text=f"{feature.meaning} ({feature.unit})")


class _SnapshotBase(models.Model):
    as_of = models.DateField()
    source = models.CharField(max_length=32, default="bureau")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class PersonCreditSnapshot(_SnapshotBase):
    """A person's features across the five dimensions at a date.  Append-only."""

    person = models.ForeignKey(
        "parties.Person", on_delete=models.CASCADE, related_name="credit_snapshots", db_index=False
    )
    in_default = models.BooleanField(
        default=False, help_text="Currently in default: 90+ DPD or a written-off debt (a knock-out)."
    )
    for _f in PERSON_FEATURES:
        locals()[_f.name] = _feature_field(_f)
    del _f

    class Meta:
        ordering = ["person_id", "-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["person", "as_of"], name="person_snapshot_unique_date"),
        ]
        indexes = [models.Index(fields=["person", "-as_of"], name="person_snapshot_latest_idx")]

    def __str__(self) -> str:
        return f"Person #{self.person_id} credit data on {self.as_of}"


class CompanyCreditSnapshot(_SnapshotBase):
    """A company's operating features at a date.  Append-only."""

    company = models.ForeignKey(
        "parties.Company", on_delete=models.CASCADE, related_name="credit_snapshots", db_index=False
    )
    for _f in COMPANY_FEATURES:
        locals()[_f.name] = _feature_field(_f)
    del _f

    class Meta:
        ordering = ["company_id", "-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["company", "as_of"], name="company_snapshot_unique_date"),
        ]
        indexes = [models.Index(fields=["company", "-as_of"], name="company_snapshot_latest_idx")]

    def __str__(self) -> str:
        return f"Company #{self.company_id} credit data on {self.as_of}"


class CreditOutcome(models.Model):
    """A realised outcome: did the subject default within 12 months of ``observed_at``?

    ``true_pd`` is filled only by the demo generator (the known truth the outcome was drawn
    from), so training can print the oracle AUC beside the model's.
    """

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    observed_at = models.DateField()
    defaulted_12m = models.BooleanField()
    true_pd = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject_kind", "subject_id", "observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "observed_at"], name="outcome_unique_observation"
            ),
            models.CheckConstraint(
                condition=Q(subject_kind__in=["person", "company"]), name="outcome_subject_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(true_pd__isnull=True) | (Q(true_pd__gte=0) & Q(true_pd__lte=1)),
                name="outcome_true_pd_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind} #{self.subject_id} observed {self.observed_at}: {'bad' if self.defaulted_12m else 'good'}"


class ScoreModel(models.Model):
    """A trained scorecard, versioned per subject kind.  The scorecard is data: characteristics
    with bins and points, scaling and tier bands (see ``scoring.scorer.compile_scorecard``)."""

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    scorecard = models.JSONField(help_text="Characteristics, bins, points, scaling and tiers.")
    metrics = models.JSONField(default=dict, blank=True)
    reference_distribution = models.JSONField(default=dict, blank=True)
    trained_on = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subject_kind", "-version"]
        permissions = [("promote_scorecard", "Can promote a scorecard to champion")]
        constraints = [
            models.UniqueConstraint(fields=["subject_kind", "version"], name="score_model_unique_version"),
            models.UniqueConstraint(
                fields=["subject_kind"],
                condition=Q(status="champion"),
                name="score_model_one_champion_per_kind",
            ),
            models.CheckConstraint(condition=Q(status__in=ModelStatus.values), name="score_model_status_valid"),
            models.CheckConstraint(
                condition=Q(subject_kind__in=SubjectKind.values), name="score_model_subject_kind_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="score_model_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind} scorecard v{self.version} ({self.status})"


SCORE_DROP_INDEX_POINTS = 50


class Score(models.Model):
    """One score of one subject at a date by one model, from the data it names.  Appended,
    never updated.

    Identity: (subject, ``as_of``, model, ``revision``).  ``data_as_of`` is the date of the
    subject's own credit data snapshot the score was computed from (a snapshot is unique per
    subject and date, so the date names it).  When new data arrives after a score of the day
    was written, the rescore is the next ``revision`` of the same (subject, date, model): the
    whole history stays, nothing is overwritten.  A rescore from the same data is skipped,
    unless it is forced (a company whose related party's data changed: its composite moves
    though its own data did not)."""

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    as_of = models.DateField()
    # The reference is enforced per statement, not per row (migration 0004): a nightly chunk
    # appends 25,000 scores of one model, and a row-level foreign key checked (and locked) the
    # model row 25,000 times.  No index on it either: nothing reads scores by model alone.
    model = models.ForeignKey(
        ScoreModel, on_delete=models.PROTECT, related_name="scores", db_constraint=False, db_index=False
    )
    model_version = models.PositiveIntegerField()
    revision = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first score of the subject, date and model; each rescore that day adds one",
    )
    data_as_of = models.DateField(
        help_text="Date of the subject's own credit data snapshot this score was computed from",
    )
    score = models.SmallIntegerField()
    pd = models.FloatField("probability of default")
    tier = models.CharField(max_length=1, choices=Tier.choices)
    in_default = models.BooleanField(default=False)
    # json, not jsonb, on PostgreSQL: written for every subject every night, read one score at a
    # time, never queried inside (StoredJSONField).
    dimension_points = StoredJSONField(default=dict)
    reason_codes = StoredJSONField(default=list, help_text="[{code, points_lost}], worst first")
    components = StoredJSONField(null=True, blank=True, help_text="Company composite: each contribution")
    previous_score = models.SmallIntegerField(
        null=True, blank=True,
        help_text="The subject's score this one follows, when this one was written: the previous revision of "
        "the same date, else the latest earlier-dated score (None: the first)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject_kind", "subject_id", "-as_of", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "as_of", "model", "revision"],
                name="score_unique_subject_date_model_revision",
            ),
            models.CheckConstraint(condition=Q(revision__gte=1), name="score_revision_positive"),
            models.CheckConstraint(condition=Q(data_as_of__lte=F("as_of")), name="score_data_not_after_date"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=950), name="score_range_0_950"),
            models.CheckConstraint(
                condition=Q(previous_score__isnull=True) | (Q(previous_score__gte=0) & Q(previous_score__lte=950)),
                name="score_previous_range_0_950",
            ),
            models.CheckConstraint(condition=Q(pd__gte=0) & Q(pd__lte=1), name="score_pd_range"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="score_tier_valid"),
            models.CheckConstraint(
                condition=Q(subject_kind__in=["person", "company"]), name="score_subject_kind_valid"
            ),
        ]
        # A subject's score history is read through the unique index above (its prefix is
        # subject_kind, subject_id, as_of); a second index on the same prefix only slowed the
        # nightly COPY.
        indexes = [
            models.Index(fields=["as_of", "subject_kind", "tier"], name="score_date_kind_tier_idx"),
            # The early-warning rule "score dropped by at least 50 points" (monitoring.rules, whose
            # SCORE_DROP_POINTS must stay equal to this 50) reads the few scores of a date that
            # qualify, not all of them: a partial index holds only those.
            models.Index(
                fields=["as_of"], condition=Q(previous_score__gte=F("score") + SCORE_DROP_INDEX_POINTS),
                name="score_drop_candidates_idx",
            ),
        ]

    def __str__(self) -> str:
        rev = f" rev {self.revision}" if self.revision != 1 else ""
        return f"{self.subject_kind} #{self.subject_id} on {self.as_of}{rev}: {self.score} ({self.tier}), data of {self.data_as_of}"

    def save(self, *args, **kwargs):
        if self.data_as_of is None:  # a score made by hand (fixtures): its own date's data
            self.data_as_of = self.as_of
        super().save(*args, **kwargs)


class MonthlyScoreSummary(models.Model):
    """A month of one subject's scores by one model, kept after the month's detailed rows
    leave the score history (``scoring.partitions``, ``SCORE_HISTORY_RETENTION_MONTHS``): how
    many, the last one (latest date, then latest revision), the lowest, the highest and the
    mean.  Written by the retention job before it removes a month; rewritten, never appended,
    if the job runs again."""

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    month = models.DateField(help_text="The month's first day")
    model = models.ForeignKey(ScoreModel, on_delete=models.PROTECT, related_name="monthly_summaries", db_index=False)
    model_version = models.PositiveIntegerField()
    scores = models.PositiveIntegerField(help_text="Scores of the month (every revision)")
    first_as_of = models.DateField()
    last_as_of = models.DateField()
    last_score = models.SmallIntegerField(help_text="The month's last score: latest date, then latest revision")
    last_tier = models.CharField(max_length=1, choices=Tier.choices)
    min_score = models.SmallIntegerField()
    max_score = models.SmallIntegerField()
    mean_score = models.FloatField()
    created_at = models.DateTimeField(help_text="When the month was summarised")

    class Meta:
        verbose_name = _("monthly score summary")
        verbose_name_plural = _("monthly score summaries")
        ordering = ["subject_kind", "subject_id", "-month"]
        permissions = [("export_csv", _("Can export monthly score summaries as CSV"))]
        # The admin's list is month-first (one month, subjects in order): this index serves it,
        # and the month filter's skip scan over the months that have rows.
        indexes = [models.Index(fields=["month", "subject_kind", "subject_id"], name="monthly_score_month_subject")]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "month", "model"], name="monthly_score_unique_subject_month_model"
            ),
            models.CheckConstraint(
                condition=Q(subject_kind__in=["person", "company"]), name="monthly_score_subject_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(min_score__gte=0) & Q(min_score__lte=F("last_score")) & Q(last_score__lte=F("max_score"))
                & Q(max_score__lte=950) & Q(mean_score__gte=F("min_score")) & Q(mean_score__lte=F("max_score")),
                name="monthly_score_figures_ordered",
            ),
            models.CheckConstraint(
                condition=Q(scores__gte=1) & Q(first_as_of__gte=F("month")) & Q(last_as_of__gte=F("first_as_of")),
                name="monthly_score_dates_in_month",
            ),
            models.CheckConstraint(condition=Q(last_tier__in=Tier.values), name="monthly_score_tier_valid"),
        ]

    def __str__(self) -> str:
        return (f"{self.subject_kind} #{self.subject_id} in {self.month:%Y-%m}: last {self.last_score}, "
                f"{self.min_score}-{self.max_score}, mean {self.mean_score:.1f} ({self.scores} scores)")


class LatestScore(models.Model):
    """Pointer to the latest score of a subject: the latest score is one indexed lookup.
    Moved set-wise by ``scoring.batch`` (INSERT ... ON CONFLICT DO UPDATE), never backwards.

    "Latest" is the score computed from the latest data: ordered by (``data_as_of``,
    ``as_of``, score id).  A score written today from last month's data does not hide a
    back-dated score computed from yesterday's data, and a same-day rescore (a higher
    revision, a higher id) replaces the day's earlier score."""

    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    # The score row pointed at.  Deliberately not a foreign key and not indexed: every nightly
    # run rewrites every pointer, and an update that changes no indexed column is a HOT update
    # (no index entries written) when the page has room (fillfactor 50, see migration 0003).
    # Deleting a score deletes its pointer all the same: a statement-level trigger does what
    # ON DELETE CASCADE did, through the (subject_kind, subject_id) index.
    score_id = models.BigIntegerField()
    as_of = models.DateField()
    data_as_of = models.DateField(help_text="The pointed score's data date (what orders pointers)")
    scored_through = models.DateField(
        help_text="The latest date any score of the subject bears (moves forward even when the pointer does not)",
    )
    score = models.SmallIntegerField()
    tier = models.CharField(max_length=1, choices=Tier.choices)
    in_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["subject_kind", "subject_id"]
        constraints = [
            models.UniqueConstraint(fields=["subject_kind", "subject_id"], name="latest_score_unique_subject"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=950), name="latest_score_range_0_950"),
            models.CheckConstraint(
                condition=Q(scored_through__gte=F("as_of")) & Q(as_of__gte=F("data_as_of")),
                name="latest_score_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["subject_kind", "tier"], name="latest_score_kind_tier_idx")]

    def __str__(self) -> str:
        return f"latest {self.subject_kind} #{self.subject_id}: {self.score} on {self.as_of} (data of {self.data_as_of})"
