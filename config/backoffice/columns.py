"""Readable list columns for every guarded admin, without touching each admin's list_display.

``GuardedModelAdmin.get_list_display`` passes each plain field name through
:func:`readable_column`, which answers a display function for the fields people misread:

* money (``DecimalField`` with 2 places) → ``¥1,234,567.00``; a share in percent (``*_pct``) →
  ``30.00%``;
* rates (``DecimalField`` with 6 places: annual rates, spreads, caps) → ``15.00%``;
* probabilities of default (float fields named ``pd`` / ``*_pd``) → ``0.48%``;
* moments → ``2026-12-02 09:30`` in Asia/Shanghai; dates → ``2026-12-02``;
* ``score`` on a model that has a ``tier`` → ``742 · B`` (and the separate tier column goes);
* a foreign key → the related object's name, linked to its page;
* ``subject_kind`` + ``subject_id`` (scores, warnings, alerts…) → the company's or person's
  name, linked (:func:`attach_subject_names` looks the names up once per page).

Every column keeps sorting by its field.  The first column is left as Django renders it (it is
the link to the row itself), unless it is a date or a moment: those are formatted and still link.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import formatting

SUBJECT_COLUMN = "subject_column"


def _field(model, name):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _change_url(obj) -> str | None:
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def _right(text):
    return format_html('<span class="bo-num">{}</span>', text)


def _make(name, field, render):
    def column(obj):
        value = getattr(obj, name)
        return render(value)

    column.__name__ = f"{name}_readable"
    return admin.display(description=field.verbose_name, ordering=name)(column)


_COLUMNS: dict = {}


def readable_column(model, name, *, first: bool = False):
    """A display function for field ``name`` of ``model``, or ``name`` itself when the field
    reads well as Django shows it.  The same function each time (Django matches sortable
    columns by identity)."""
    if not isinstance(name, str) or first:
        return name
    key = (model, name)
    if key not in _COLUMNS:
        _COLUMNS[key] = _readable_column(model, name)
    return _COLUMNS[key]


def _readable_column(model, name):
    field = _field(model, name)
    if field is None or not getattr(field, "concrete", False):
        return name
    if isinstance(field, models.DecimalField) and name.endswith("_pct"):
        # a share already in percent (haircut, ownership), not money though it has 2 places
        return _make(name, field, lambda v: _right(formatting.format_percent(v)))
    if isinstance(field, models.DecimalField) and field.decimal_places == 2:
        return _make(name, field, lambda v: _right(formatting.format_money(v)))
    if isinstance(field, models.DecimalField) and field.decimal_places == 6:
        return _make(name, field, lambda v: _right(formatting.format_rate(v)))
    if isinstance(field, models.FloatField) and (name == "pd" or name.endswith("_pd")):
        return _make(name, field, lambda v: _right(formatting.format_pd(v)))
    if isinstance(field, models.DateTimeField):
        return _make(name, field, formatting.format_datetime)
    if isinstance(field, models.DateField):
        return _make(name, field, formatting.format_date)
    if name == "score" and _field(model, "tier") is not None and isinstance(field, models.IntegerField):

        def score(obj):
            return _right(formatting.format_score(obj.score, getattr(obj, "tier", None) or None))

        return admin.display(description=field.verbose_name, ordering="score")(score)
    if isinstance(field, models.ForeignKey):
        attname, relname = field.attname, field.name  # the column may name either ("line" or "line_id")

        def related(obj):
            if getattr(obj, attname) is None:
                return formatting.EMPTY
            target = getattr(obj, relname)
            url = _change_url(target)
            label, full = short_label(target), str(target)
            if url:
                return format_html('<a href="{}" title="{}">{}</a>', url, full, label)
            return format_html('<span title="{}">{}</span>', full, label)

        related.__name__ = f"{relname}_link"
        return admin.display(description=field.verbose_name, ordering=relname)(related)
    return name


# Records without a name of their own that a list names by kind and number ("Credit line #151"):
# their full name (the line's company, the loan's principal, the alert's rule and subject) repeats
# what the row's other columns say, and stays in the link's title.
NUMBERED = {"loans.creditline", "loans.loan", "loans.loanapplication", "monitoring.alert", "monitoring.postloanaction",
            "monitoring.committeecase"}


def short_label(obj) -> str:
    """What a list column shows of a related object: its code, legal name or name when it
    has one (a product's code, not its whole description), its kind and number for the
    numbered records (``NUMBERED``), else its full name."""
    for attr in ("code", "legal_name", "name"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    if obj._meta.label_lower in NUMBERED:
        return f"{capfirst(obj._meta.verbose_name)} #{obj.pk}"
    return str(obj)


def readable_list_display(model, list_display, keep=()):
    """``list_display`` with readable columns (see the module); names in ``keep`` (links,
    editable columns) stay as they are."""
    names = list(list_display)
    has_score_tier = "score" in names and "tier" in names and _field(model, "tier") is not None
    has_subject = "subject_kind" in names and "subject_id" in names
    out = []
    for i, name in enumerate(names):
        if has_score_tier and name == "tier":
            continue
        if has_subject and name == "subject_id":
            continue
        if has_subject and name == "subject_kind" and i > 0:
            out.append(SUBJECT_COLUMN)
            continue
        # The first column stays as Django renders it (the row's link) unless it is a moment:
        # Django would write "Dec. 2, 2026, 9:56 p.m."; the function's column is linked as well.
        first = name in keep or (i == 0 and not isinstance(_field(model, name) if isinstance(name, str) else None, models.DateField))
        out.append(readable_column(model, name, first=first))
    return out


def subject_label(kind: str, subject_id) -> str:
    return f"{kind} #{subject_id}"


def attach_subject_names(objects) -> None:
    """Give each row with ``subject_kind``/``subject_id`` a ``_subject`` (name, url): one
    query per kind for the whole page."""
    from loans.parties.models import Company, Person

    rows = [o for o in objects if hasattr(o, "subject_kind") and hasattr(o, "subject_id")]
    wanted: dict[str, set] = {}
    for o in rows:
        wanted.setdefault(str(o.subject_kind), set()).add(o.subject_id)
    names: dict[tuple[str, int], tuple[str, str | None]] = {}
    for kind, model, label in (("company", Company, "legal_name"), ("person", Person, "name")):
        ids = wanted.get(kind)
        if not ids or _field(model, label) is None:
            continue
        for pk, name in model.objects.filter(pk__in=ids).values_list("pk", label):
            try:
                url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
            except NoReverseMatch:
                url = None
            names[(kind, pk)] = (name, url)
    for o in rows:
        o._subject = names.get((str(o.subject_kind), o.subject_id), (subject_label(o.subject_kind, o.subject_id), None))


@admin.display(description=_("subject"), ordering="subject_id")
def subject_column(obj):
    name, url = getattr(obj, "_subject", None) or (subject_label(obj.subject_kind, obj.subject_id), None)
    return format_html('<a href="{}">{}</a>', url, name) if url else name
