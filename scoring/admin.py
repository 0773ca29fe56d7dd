"""Admin: score models with metrics and a read-only bins/points table, score histories with
reason codes, snapshots.  Lists use list_select_related / plain columns: no N+1."""

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.backoffice import formatting
from config.backoffice.filters import RecentDateFilter
from config.backoffice.paginator import EstimatedCountPaginator, FilteredEstimatePaginator
from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin

from . import services, words
from .features import FEATURES_BY_KIND
from .models import (
    CompanyCreditSnapshot,
    CreditOutcome,
    LatestScore,
    MonthlyScoreSummary,
    PersonCreditSnapshot,
    Score,
    ScoreModel,
)
from .reasons import texts_for


def _metric(obj, section, key):
    value = (obj.metrics or {}).get(section, {}).get(key)
    return "—" if value is None else f"{value:.3f}"


@admin.register(ScoreModel)
class ScoreModelAdmin(GuardedModelAdmin):
    list_display = ("__str__", "subject_kind", "version", "status", "holdout_auc", "cv_auc", "holdout_ks", "created_at", "promoted_at",
                    "monitoring_page")
    list_filter = ("subject_kind", "status")
    fields = ("subject_kind", "version", "status", "created_at", "promoted_at", "scaling", "metrics_table",
              "bins_table", "trained_on", "reference_distribution")
    readonly_fields = ("subject_kind", "version", "status", "created_at", "promoted_at", "scaling", "metrics_table",
                       "bins_table", "trained_on", "reference_distribution")
    actions = ["promote"]

    def has_add_permission(self, request):
        return False  # models are trained by train_scorecard

    def has_change_permission(self, request, obj=None):
        return False  # status moves through services (score_model_set_status) only

    @admin.action(description=_("Promote to champion (retires the current champion)"), permissions=["promote_scorecard"])
    def promote(self, request, queryset):
        models = list(queryset[:2])
        if len(models) != 1:
            self.message_user(request, _("Select exactly one model to promote."), messages.ERROR)
            return
        model = models[0]
        try:
            services.score_model_promote(model=model)
        except services.InvalidStatusTransition as exc:
            self.message_user(request, _("%(model)s: %(error)s") % {"model": model, "error": exc}, messages.ERROR)
            return
        self.log_change(request, model, "Promoted to champion")  # who promoted, in the admin's history
        self.message_user(request, _("%(model)s is now the champion.") % {"model": model}, messages.SUCCESS)

    @admin.display(description=_("Monitoring"))
    def monitoring_page(self, obj):
        """A link to the model's page (stability, back-test, calibration, challengers), served
        by the back office's pages under the same admin."""
        try:
            url = reverse("backoffice:model", args=[obj.pk])
        except NoReverseMatch:
            return "—"
        return format_html('<a href="{}">{}</a>', url, _("Model health"))

    @admin.display(description="holdout AUC")
    def holdout_auc(self, obj):
        return _metric(obj, "holdout", "auc")

    @admin.display(description="CV AUC")
    def cv_auc(self, obj):
        return _metric(obj, "cv", "auc")

    @admin.display(description="holdout KS")
    def holdout_ks(self, obj):
        return _metric(obj, "holdout", "ks")

    @admin.display(description="scaling")
    def scaling(self, obj):
        s = obj.scorecard.get("scaling", {})
        return f"base points {s.get('base_points')} at odds {s.get('base_odds')}:1, PDO {s.get('pdo')}, bounded {s.get('min_score')}–{s.get('max_score')}"

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        rows = []
        for section in ("holdout", "oracle_holdout", "cv"):
            m = (obj.metrics or {}).get(section)
            if m:
                rows.append((section, *(f"{m.get(k, float('nan')):.3f}" for k in ("auc", "ks", "gini"))))
        return format_html(
            '<table><tr><th></th><th>AUC</th><th>KS</th><th>Gini</th></tr>{}</table>',
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="bins and points")
    def bins_table(self, obj):
        rows = []
        for ch in obj.scorecard.get("characteristics", []):
            labels = ch.get("labels") or [str(i) for i in range(len(ch["points"]))]
            counts = ch.get("counts") or [""] * len(labels)
            rates = ch.get("bad_rates") or [None] * len(labels)
            for label, pts, cnt, rate in zip(labels, ch["points"], counts, rates):
                rows.append((ch["name"], ch.get("dimension", ""), label, cnt, "" if rate is None else f"{rate:.4f}", f"{pts:.2f}"))
            rows.append((ch["name"], ch.get("dimension", ""), "missing", ch.get("count_missing", ""), "", f"{ch['points_missing']:.2f}"))
            if ch["kind"] == "categorical":
                rows.append((ch["name"], ch.get("dimension", ""), "unseen", "", "", f"{ch.get('points_unseen', 0):.2f}"))
        return format_html(
            "<table><tr><th>characteristic</th><th>dimension</th><th>bin</th><th>count</th><th>bad rate</th>"
            "<th>points</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )


class ScoreDateFilter(RecentDateFilter):
    title = _("scored on")


@admin.register(Score)
class ScoreAdmin(ReadOnlyModelAdmin):
    """Millions of rows, a few hundred thousand per night: the list is date-first (the latest
    night unless another is chosen, no "all dates", no date hierarchy), not counted exactly
    (the planner's estimate of a night), 50 rows a page."""

    # the date first (the row's link), then the subject by name (a link to it), the score with its
    # tier, and the reason codes in short: their words are on the score's own page
    list_display = ("as_of", "subject_kind", "subject_id", "score", "tier", "pd", "previous_score", "revision",
                    "data_as_of", "model_version", "reason_codes_short")
    list_filter = (ScoreDateFilter, "subject_kind", "tier")
    search_fields = ("=subject_id",)
    list_select_related = ("model",)
    list_per_page = 50
    show_full_result_count = False
    paginator = FilteredEstimatePaginator
    readonly_fields = ("subject_kind", "subject_id", "as_of", "revision", "data_as_of", "model", "model_version", "score",
                       "previous_score", "pd", "tier", "in_default", "dimension_points", "reasons", "components",
                       "created_at")
    fields = readonly_fields

    @admin.display(description=_("main reasons"))
    def reason_codes_short(self, obj):
        """The two reasons that cost the most points, in the reader's language (all of them, in
        both languages, on the score's page)."""
        zh = (get_language() or "").startswith("zh")
        return format_html_join(
            "", "<div>{} {}</div>",
            ((r["code"], texts_for(r["code"])[1 if zh else 0]) for r in (obj.reason_codes or ())[:2]),
        ) or "—"

    @admin.display(description=_("reason codes"))
    def reasons(self, obj):
        return format_html_join(
            "", "<div>{} {} / {} (−{})</div>",
            ((r["code"], *texts_for(r["code"]), r["points_lost"]) for r in obj.reason_codes or ()),
        ) or "—"


class SummaryMonthFilter(RecentDateFilter):
    """One month at a time, the latest summarised month by default (months are first days)."""

    field_name = parameter_name = "month"
    title = _("month")
    recent = 60  # five years of months

    def lookups(self, request, model_admin):
        super().lookups(request, model_admin)
        return [(d.isoformat(), f"{d:%Y-%m}") for d in self._dates]


@admin.register(MonthlyScoreSummary)
class MonthlyScoreSummaryAdmin(ReadOnlyModelAdmin):
    """The months that retention summarised (``scoring.partitions``): one row per subject,
    month and model.  Large (every subject, every month kept), so month-first like the score
    history, estimated counts, 50 rows a page; the subject by name comes from the columns."""

    list_display = ("month_label", "subject_kind", "subject_id", "model", "scores_count", "last_score_tier", "min_score_col",
                    "max_score_col", "mean_score_col", "first_as_of", "last_as_of")
    list_filter = (SummaryMonthFilter, "subject_kind", "last_tier")
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice would read a whole month
    search_fields = ("=subject_id",)
    list_select_related = ("model",)
    list_per_page = 50
    show_full_result_count = False
    paginator = FilteredEstimatePaginator
    readonly_fields = ("subject_kind", "subject_id", "month", "model", "model_version", "scores", "first_as_of", "last_as_of",
                       "last_score", "last_tier", "min_score", "max_score", "mean_score", "created_at")
    fields = readonly_fields

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("number of scores"), ordering="scores")
    def scores_count(self, obj):
        return format_html('<span class="bo-num">{}</span>', formatting.format_int(obj.scores))

    @admin.display(description=_("last score"), ordering="last_score")
    def last_score_tier(self, obj):
        return format_html('<span class="bo-num">{}</span>', formatting.format_score(obj.last_score, obj.last_tier))

    @admin.display(description=_("min score"), ordering="min_score")
    def min_score_col(self, obj):
        return format_html('<span class="bo-num">{}</span>', obj.min_score)

    @admin.display(description=_("max score"), ordering="max_score")
    def max_score_col(self, obj):
        return format_html('<span class="bo-num">{}</span>', obj.max_score)

    @admin.display(description=_("mean score"), ordering="mean_score")
    def mean_score_col(self, obj):
        return format_html('<span class="bo-num">{}</span>', formatting.format_amount(obj.mean_score, 1))


@admin.register(LatestScore)
class LatestScoreAdmin(ReadOnlyModelAdmin):
    list_display = ("subject_kind", "subject_id", "as_of", "data_as_of", "score", "tier")
    list_filter = ("subject_kind", "tier")
    search_fields = ("=subject_id",)
    list_per_page = 50
    show_full_result_count = False
    paginator = FilteredEstimatePaginator


class SourceFilter(admin.SimpleListFilter):
    """Who sent the observation, in words (the named sources: no scan for distinct values)."""

    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return list(words.SOURCE_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


_FIGURE_COLUMNS: dict = {}
_FEATURES = {f.name: f for features in FEATURES_BY_KIND.values() for f in features}


def _figure_column(model, name: str):
    """A feature's figures as people read them (``¥50,000,000.00``, ``12,000``, ``0.35``), the
    source in words; any other name as it is.  Made on first use, after the field names were
    made translatable (config.backoffice.model_i18n), and the same function each time."""
    key = (model, name)
    if key in _FIGURE_COLUMNS:
        return _FIGURE_COLUMNS[key]
    feature = _FEATURES.get(name)
    column = name
    if feature is not None:
        def column(obj, feature=feature):
            return format_html('<span class="bo-num">{}</span>', formatting.format_figure(getattr(obj, feature.name), feature.unit))

        column.__name__ = f"{name}_figure"
        column = admin.display(description=model._meta.get_field(name).verbose_name, ordering=name)(column)
    elif name == "source":
        def column(obj):
            return words.source_label(obj.source)

        column.__name__ = "source_label"
        column = admin.display(description=model._meta.get_field(name).verbose_name, ordering=name)(column)
    _FIGURE_COLUMNS[key] = column
    return column


class _SnapshotAdmin(ReadOnlyModelAdmin):
    # One row per subject and date, indexed by subject first: no date hierarchy (it reads every
    # distinct date of the table); the date filter's choices (today, past 7 days, ...) cost nothing.
    list_filter = ("as_of", SourceFilter)
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_list_display(self, request):
        return [_figure_column(self.model, n) if isinstance(n, str) else n for n in super().get_list_display(request)]

    def get_fields(self, request, obj=None):
        return [_figure_column(self.model, n) if isinstance(n, str) else n for n in super().get_fields(request, obj)]


@admin.register(PersonCreditSnapshot)
class PersonCreditSnapshotAdmin(_SnapshotAdmin):
    list_display = ("person", "as_of", "in_default", "ontime_ratio_24m", "worst_dpd_24m", "debt_to_income", "source")
    list_select_related = ("person",)
    search_fields = ("=person__id",)
    list_filter = ("as_of", SourceFilter, "in_default")


@admin.register(CompanyCreditSnapshot)
class CompanyCreditSnapshotAdmin(_SnapshotAdmin):
    list_display = ("company", "as_of", "revenue_12m", "revenue_trend", "lawsuits_24m", "source")
    list_select_related = ("company",)
    search_fields = ("=company__id",)


@admin.register(CreditOutcome)
class CreditOutcomeAdmin(ReadOnlyModelAdmin):
    list_display = ("subject_kind", "subject_id", "observed_at", "defaulted_12m", "true_pd")
    list_filter = ("subject_kind", "defaulted_12m")
