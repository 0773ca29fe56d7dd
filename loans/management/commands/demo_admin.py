import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

LOGIN_FILE = Path(settings.BASE_DIR) / ".demo-login"


class Command(BaseCommand):
    help = "Create the demo superuser on first use and print its login (kept in .demo-login, git-ignored)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        password = LOGIN_FILE.read_text().strip() if LOGIN_FILE.exists() else ""
        user = User.objects.filter(username=username).first()
        if user is None or not password or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            LOGIN_FILE.write_text(password + "\n")
        self.stdout.write("")
        self.stdout.write("  Admin:    http://127.0.0.1:8000/admin/")
        self.stdout.write(f"  Login:    {username}")
        self.stdout.write(f"  Password: {password}")
        self.stdout.write("")
