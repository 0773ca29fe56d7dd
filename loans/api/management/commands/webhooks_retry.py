from django.core.management.base import BaseCommand

from loans.api.webhooks import webhooks_retry_due


class Command(BaseCommand):
    help = "Send webhook deliveries whose next attempt is due (where no Celery worker retries them)."

    def handle(self, *args, **options):
        self.stdout.write(f"dispatched: {webhooks_retry_due()}")
