"""Enrol a staff user's authenticator (TOTP) from the server's shell.

    python manage.py enrol_totp alice              # prints the otpauth:// address and a QR code
    python manage.py enrol_totp alice --replace    # a lost phone: the old authenticator stops working

The way in for users whose role requires two-factor login (see ``config.ops.twofactor``): they cannot
enrol with a password alone.  Hand the QR code to the user in person; it holds the secret.
"""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.ops.twofactor import DEVICE_NAME


class Command(BaseCommand):
    help = "Enrol a TOTP authenticator for a staff user; prints its otpauth:// address and a terminal QR code."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="Replace the user's current authenticator."
        )
        parser.add_argument("--no-qr", action="store_true", help="Print the address only.")

    def handle(self, *args, username, replace, no_qr, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: only staff log in to the back office.")
        with transaction.atomic():
            existing = TOTPDevice.objects.select_for_update().filter(user=user)
            if existing.filter(confirmed=True).exists() and not replace:
                raise CommandError(
                    f"{username!r} already has an authenticator; use --replace to replace it."
                )
            existing.delete()
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
        uri = device.config_url
        self.stdout.write(
            f"Authenticator enrolled for {username}. Add it to the user's app with this address:"
        )
        self.stdout.write(uri)
        if not no_qr:
            import segno

            out = io.StringIO()
            segno.make(uri, error="m").terminal(out=out, compact=True)
            self.stdout.write(out.getvalue())
