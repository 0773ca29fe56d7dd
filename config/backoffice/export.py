"""CSV export of the lists officers report from (applications, lines, loans, warnings…).

An admin whose model declares the custom permission ``export_csv`` (``Meta.permissions``) gets
the action "Export the selected rows as CSV": the list's columns, values as a spreadsheet reads
them (amounts and rates as plain decimals, moments in Asia/Shanghai, related objects and
subjects by name), UTF-8 with a byte-order mark so that Excel shows Chinese names.  Rows are
streamed; the action is offered and runs only for a user holding ``<app>.export_csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

from django.contrib import admin
from django.contrib.admin.utils import label_for_field, lookup_field
from django.db import models
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext_lazy as _

from . import formatting

PERMISSION = "export_csv"


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return formatting.format_datetime(value, seconds=True)
    if isinstance(value, dt.date):
        return value.isoformat()
    return strip_tags(str(value)).strip()


def export_columns(modeladmin) -> list[str]:
    """The list's columns as declared (raw fields, not the readable HTML of the page)."""
    return [name for name in modeladmin.list_display if name != "action_checkbox"]


def rows(modeladmin, queryset):
    from . import columns

    names = export_columns(modeladmin)
    model = modeladmin.model
    has_subject = "subject_kind" in names and "subject_id" in names
    header = [str(capfirst(label_for_field(name, model, modeladmin))) for name in names]
    if has_subject:
        header.append(str(capfirst(_("subject"))))
    yield header
    related = modeladmin.get_list_select_related(None) if hasattr(modeladmin, "get_list_select_related") else ()
    if related is True:
        queryset = queryset.select_related()
    elif related:
        queryset = queryset.select_related(*related)
    batch = []

    def flush():
        if has_subject:
            columns.attach_subject_names(batch)
        for obj in batch:
            row = []
            for name in names:
                field = None
                try:
                    field, _attr, value = lookup_field(name, obj, modeladmin)
                except (AttributeError, models.ObjectDoesNotExist):
                    value = None
                if field is not None and getattr(field, "flatchoices", None) and not isinstance(field, models.ForeignKey):
                    value = dict(field.flatchoices).get(value, value)
                row.append(_cell(value))
            if has_subject:
                row.append(obj._subject[0])
            yield row

    for obj in queryset.iterator(chunk_size=2000):
        batch.append(obj)
        if len(batch) == 2000:
            yield from flush()
            batch = []
    yield from flush()


@admin.action(permissions=[PERMISSION], description=_("Export the selected rows as CSV"))
def export_csv(modeladmin, request, queryset):
    writer = csv.writer(_Echo())
    name = slugify(str(modeladmin.model._meta.verbose_name_plural)) or modeladmin.model._meta.model_name
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def stream():
        yield "\ufeff"
        for row in rows(modeladmin, queryset):
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{modeladmin.model._meta.model_name}-{stamp}.csv"'
    del name
    return response


def has_export(model) -> bool:
    return any(codename == PERMISSION for codename, _label in model._meta.permissions)
