import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

LOGIN_FILE = Path(settings.BASE_DIR) / ".demo-login"


def _saved() -> dict[str, str]:
    """username -> password of the demo logins made before (.demo-login, git-ignored)."""
    if not LOGIN_FILE.exists():
        return {}
    text = LOGIN_FILE.read_text().strip()
    try:
        saved = json.loads(text)
        return saved if isinstance(saved, dict) else {}
    except ValueError:  # the old format: the admin's password alone
        return {"admin": text} if text else {}


class Command(BaseCommand):
    help = (
        "Create the demo superuser on first use and print its login (kept in .demo-login, "
        "git-ignored); the logins of the roles come from demo_users, which make run calls next."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--port", type=int, default=8000, help="the port `make run` serves on")

    def _login(self, saved, username):
        """The superuser's password: the saved one while it still works, else a new one."""
        User = get_user_model()
        password = saved.get(username, "")
        user = User.objects.filter(username=username).first()
        if user is None or not password or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
        saved[username] = password
        return password

    def handle(self, *args, username, port, **options):
        saved = _saved()
        logins = [(str(_("Administrator")), username, self._login(saved, username))]
        LOGIN_FILE.write_text(json.dumps(saved, indent=1) + "\n")
        self.stdout.write("")
        self.stdout.write(f"  Back office: http://127.0.0.1:{port}/admin/   (English or 中文: the language menu, top right)")
        self.stdout.write("")
        width = max(len(role) for role, _u, _p in logins)
        self.stdout.write(f"  {'Role'.ljust(width)}  {'Login'.ljust(28)}  Password")
        for role, user, password in logins:
            self.stdout.write(f"  {role.ljust(width)}  {user.ljust(28)}  {password}")
        self.stdout.write("  (one login per role: `manage.py demo_users`, printed below by make run)")
        self.stdout.write("")


def _(text):  # the role names are printed for the terminal, in English
    return text
