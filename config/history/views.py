"""The latest changes across every tracked model, beside the ledger in the admin: what an
auditor reads first.  Each model's changes are shown only to a user who may view that model."""

from __future__ import annotations

import heapq

from django.apps import apps
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from .modeladmin import is_tracked

PER_PAGE = 100
_UNKNOWN = object()


def tracked_models():
    return [m for m in apps.get_models() if is_tracked(m) and not m.__name__.startswith("Historical")]


def _changed(record, previous) -> str:
    if record.history_type == "+":
        return _("created")
    if record.history_type == "-":
        return _("deleted")
    if previous is None:
        return ""
    fields = [c.field for c in record.diff_against(previous).changes if c.field != "updated_at"]
    return ", ".join(fields) or _("saved without change")


def latest_changes(user, *, limit: int = PER_PAGE) -> list[dict]:
    """The ``limit`` latest historical records across the models ``user`` may view, newest first."""
    streams = []
    for model in tracked_models():
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            continue
        history = getattr(model, opts.simple_history_manager_attribute)
        records = list(history.select_related("history_user").order_by("-history_date", "-history_id")[:limit])
        # Each record's previous version, from the same page where it is there (one query per
        # record otherwise).
        older: dict = {}
        for record in reversed(records):
            key = getattr(record, opts.pk.attname)
            record.previous_version = older.get(key, _UNKNOWN)
            older[key] = record
        streams.append(records)
    merged = heapq.merge(*streams, key=lambda r: r.history_date, reverse=True)
    rows = []
    for record in merged:
        if len(rows) == limit:
            break
        model = record.instance_type
        opts = model._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[getattr(record, opts.pk.attname)])
        except NoReverseMatch:
            url = ""
        rows.append({
            "when": record.history_date, "who": record.history_user, "reason": record.history_change_reason or "",
            "model": opts.verbose_name, "object": f"#{getattr(record, opts.pk.attname)}", "url": url,
            "kind": record.get_history_type_display(),
            "changed": _changed(record, record.prev_record if record.previous_version is _UNKNOWN else record.previous_version),
        })
    return rows


def latest_changes_view(model_admin):
    def view(request):
        context = {
            **model_admin.admin_site.each_context(request),
            "title": _("Latest changes"), "opts": model_admin.model._meta, "rows": latest_changes(request.user),
        }
        return TemplateResponse(request, "admin/history/latest_changes.html", context)

    return view
