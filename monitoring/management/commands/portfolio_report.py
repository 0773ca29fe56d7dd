"""Print the portfolio snapshot of a date (computing it when missing).

    python manage.py portfolio_report --as-of 2026-11-02 [--json]
"""

from __future__ import annotations

import datetime
import json as _json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from monitoring.analytics.report import (
    AnalyticsError,
    snapshot_as_dict,
    snapshot_as_text,
    snapshot_get_or_compute,
)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("--as-of: %(v)r is not a date (YYYY-MM-DD)") % {"v": text}) from None


class Command(BaseCommand):
    help = _("Print the portfolio snapshot of a date: book, five categories, buckets, tiers, migration, roll rates, PSI.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help=_("print JSON"))

    def handle(self, *args, as_of, json: bool = False, **options):
        day = _date(as_of)
        try:
            snapshot, computed = snapshot_get_or_compute(as_of=day)
        except AnalyticsError as exc:
            raise CommandError(str(exc)) from None
        data = snapshot_as_dict(snapshot)
        if json:
            self.stdout.write(_json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        if computed:
            self.stdout.write(_("(snapshot computed now: it was missing)"))
        self.stdout.write("\n".join(snapshot_as_text(data)))
