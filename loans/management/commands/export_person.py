import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from loans.errors import NotFound
from loans.services.privacy import person_export


class Command(BaseCommand):
    help = (
        "Print a person's data as JSON (their right of access): identity in clear, roles, "
        "guarantees, consents, credit data, scores, past requests.  The export is recorded with "
        "who ran it and why; the runner must hold loans.export_person_data."
    )

    def add_arguments(self, parser):
        parser.add_argument("person_id", type=int)
        parser.add_argument("--user", required=True, help="username of the staff member answering the request")
        parser.add_argument("--reason", required=True, help="the request and its reference")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, person_id, user, reason, output=None, **options):
        staff = get_user_model().objects.filter(username=user, is_active=True).first()
        if staff is None or not staff.has_perm("loans.export_person_data"):
            raise CommandError(f"{user!r} is not an active user holding loans.export_person_data")
        try:
            data = person_export(person_id=person_id, actor=staff, reason=reason, channel="command")
        except NotFound as exc:
            raise CommandError(str(exc)) from None
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stdout.write(f"written to {output}")
        else:
            self.stdout.write(text)
