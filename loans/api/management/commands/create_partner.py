import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from loans.api.models import PartnerAPIKey
from loans.models import Partner


class Command(BaseCommand):
    help = "Create a partner (or reuse one by name) and issue it an API key; the key is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--key-name", default="default", help="A label for the key (50 characters at most).")
        parser.add_argument("--existing", action="store_true", help="Issue a new key to an existing partner.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="The key stops working after this many days.")

    def handle(self, *args, name, key_name, existing, expires_in_days, **options):
        name = name.strip()
        if not name:
            raise CommandError("--name must not be empty")
        with transaction.atomic():
            partner = Partner.objects.filter(name=name).first()
            if partner is not None and not existing:
                raise CommandError(f"Partner {name!r} exists; pass --existing to issue it another key.")
            if partner is None:
                partner = Partner.objects.create(name=name)
            expiry = None
            if expires_in_days is not None:
                if expires_in_days < 1:
                    raise CommandError("--expires-in-days must be at least 1")
                expiry = timezone.now() + datetime.timedelta(days=expires_in_days)
            api_key, key = PartnerAPIKey.objects.create_key(name=key_name[:50], partner=partner, expiry_date=expiry)
        self.stdout.write(f"partner: {partner.pk} {partner.name}")
        expires = f", expires {api_key.expiry_date:%Y-%m-%d %H:%M %Z}" if api_key.expiry_date else ""
        self.stdout.write(f"key prefix: {api_key.prefix}{expires} (store the key now: it is shown only once)")
        self.stdout.write(key)
