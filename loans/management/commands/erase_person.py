from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from loans.errors import NotFound
from loans.models import PersonDataRequest
from loans.services.privacy import person_erase


class Command(BaseCommand):
    help = (
        "Erase a person's data on their request, unless a loan record obliges the lender to keep "
        "it (then refused, with the reason).  Done or refused, the request is recorded with who ran "
        "it and why; the runner must hold loans.erase_person_data.  README 'Personal data'."
    )

    def add_arguments(self, parser):
        parser.add_argument("person_id", type=int)
        parser.add_argument("--user", required=True, help="username of the staff member answering the request")
        parser.add_argument("--reason", required=True, help="the request and its reference")

    def handle(self, *args, person_id, user, reason, **options):
        staff = get_user_model().objects.filter(username=user, is_active=True).first()
        if staff is None or not staff.has_perm("loans.erase_person_data"):
            raise CommandError(f"{user!r} is not an active user holding loans.erase_person_data")
        try:
            request = person_erase(person_id=person_id, actor=staff, reason=reason, channel="command")
        except NotFound as exc:
            raise CommandError(str(exc)) from None
        if request.outcome == PersonDataRequest.Outcome.REFUSED:
            raise CommandError(f"erasure refused: {request.refusal}")
        self.stdout.write(self.style.SUCCESS(f"person #{person_id} erased (request #{request.pk})"))
