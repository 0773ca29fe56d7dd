"""One demo user per role (three for the credit committee), printed ``username password role``.

Idempotent: users are created once and put in exactly their role's group; their passwords are
kept in ``.demo-users`` (git-ignored) and reused while they still match, so a second run
prints the same logins."""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from config.backoffice.roles import ADMINISTRATOR, AUDITOR, COMMITTEE_MEMBER, LOAN_OFFICER, RISK_MANAGER, roles_sync

LOGIN_FILE = Path(settings.BASE_DIR) / ".demo-users"

DEMO_USERS = [
    ("officer", LOAN_OFFICER),
    ("risk", RISK_MANAGER),
    ("risk2", RISK_MANAGER),  # maker-checker: one proposes a credit policy, the other approves it
    ("committee1", COMMITTEE_MEMBER),
    ("committee2", COMMITTEE_MEMBER),
    ("committee3", COMMITTEE_MEMBER),
    ("auditor", AUDITOR),
    ("administrator", ADMINISTRATOR),
]


class Command(BaseCommand):
    help = _("Create one demo user per role (two risk managers, three committee members) and print: username password role.")

    def add_arguments(self, parser):
        parser.add_argument("--login-file", default=str(LOGIN_FILE), help=_("Where the demo passwords are kept."))

    def handle(self, *args, login_file, **options):
        path = Path(login_file)
        try:
            known = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            known = {}
        User = get_user_model()
        roles_sync()
        lines, kept = [], {}
        with transaction.atomic():
            for username, role in DEMO_USERS:
                group = Group.objects.filter(name=role).first()
                if group is None:
                    raise CommandError(_("The role %(role)s has no group; run migrate first.") % {"role": role})
                user = User.objects.filter(username=username).first()
                password = known.get(username, "")
                if user is None:
                    password = password or secrets.token_urlsafe(12)
                    user = User.objects.create_user(username=username, password=password, is_staff=True)
                elif not password or not user.check_password(password):
                    password = secrets.token_urlsafe(12)
                    user.set_password(password)
                    user.save(update_fields=["password"])
                if not user.is_staff or user.is_superuser or not user.is_active:
                    user.is_staff, user.is_superuser, user.is_active = True, False, True
                    user.save(update_fields=["is_staff", "is_superuser", "is_active"])
                user.groups.set([group])
                kept[username] = password
                lines.append(f"{username} {password} {role}")
        path.write_text(json.dumps(kept, indent=1) + "\n")
        for line in lines:
            self.stdout.write(line)
