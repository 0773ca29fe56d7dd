"""Apply the score history's retention now, or say what it would do.

    python manage.py score_retention --dry-run [--months N]
    python manage.py score_retention [--months N] [--keep-detached]

Months older than ``--months`` (default ``SCORE_HISTORY_RETENTION_MONTHS``) whole months before
the current one are summarised per subject and model (``MonthlyScoreSummary``), then their
partitions are detached and dropped (``--keep-detached``: left as plain tables to archive);
on SQLite the rows are deleted.  The periodic job "score history retention" does the same.
"""

from django.core.management.base import BaseCommand, CommandError

from scoring import partitions


class Command(BaseCommand):
    help = "Summarise and remove score history past its retention (--dry-run: only say what it would do)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        parser.add_argument("--months", type=int, default=None, help="override SCORE_HISTORY_RETENTION_MONTHS")
        parser.add_argument("--keep-detached", action="store_true", help="detach expired partitions but do not drop them")

    def handle(self, *args, dry_run, months, keep_detached, **options):
        try:
            plan = partitions.retention_plan(months=months)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for line in plan.describe():
            self.stdout.write(("would " if dry_run and not line.startswith(("retention", "nothing", "keep")) else "") + line)
        if dry_run or not (plan.summarise or plan.expired or plan.rows_to_delete):
            return
        result = partitions.retention_apply(plan, drop=False if keep_detached else None)
        self.stdout.write(result.describe())
