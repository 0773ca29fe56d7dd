"""Put a few demo applications before the credit committee: as the demo loan officer, apply
for lender-owned companies whose latest score is in the policy's grey band, keeping those the
engine refers (each opens a committee case) and rolling back any other outcome.  Idempotent:
does nothing once that many application cases are open.  Run after ``demo_users``."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from loans.choices import ApplicationStatus
from loans.errors import DomainError
from loans.models import Company, LoanProduct
from loans.services.applications import application_create, application_submit
from loans.services.policy import credit_policy_active
from monitoring.models import CaseStatus, CommitteeCase


class _NotReferred(Exception):
    pass


class Command(BaseCommand):
    help = _("Refer a few demo applications to the credit committee (as the demo loan officer).")

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=2)
        parser.add_argument("--officer", default="officer", help=_("The demo loan officer's username."))
        parser.add_argument("--tries", type=int, default=40)

    def handle(self, *args, count, officer, tries, **options):
        from scoring.models import LatestScore

        user = get_user_model().objects.filter(username=officer).first()
        if user is None:
            raise CommandError(_("No user %(name)s: run demo_users first.") % {"name": officer})
        have = CommitteeCase.objects.filter(kind="application", status=CaseStatus.OPEN).count()
        product = LoanProduct.objects.filter(is_active=True).order_by("min_amount").first()
        if have >= count or product is None:
            self.stdout.write(_("%(n)s committee case(s) open.") % {"n": have})
            return
        policy = credit_policy_active()
        lender_companies = Company.objects.filter(partner__isnull=True).values("pk")
        candidates = (
            LatestScore.objects.filter(subject_kind="company", subject_id__in=lender_companies,
                                       score__gte=policy.grey_band_low, score__lte=policy.grey_band_high)
            .order_by("subject_id").values_list("subject_id", flat=True)[:tries]
        )
        for company_id in candidates:
            if have >= count:
                break
            try:
                with transaction.atomic():
                    app = application_create(company_id=company_id, product_id=product.pk, requested_amount=product.min_amount,
                                             term_months=product.min_term_months, actor=user, purpose=_("demo referral"))
                    application_submit(application_id=app.pk, actor=user)
                    app.refresh_from_db(fields=["status"])
                    if app.status != ApplicationStatus.REFERRED:
                        raise _NotReferred
            except (_NotReferred, DomainError, ValidationError):
                continue
            have += 1
            case = CommitteeCase.objects.get(kind="application", subject_id=app.pk)
            self.stdout.write(_("Application #%(app)s referred: committee case #%(case)s.") % {"app": app.pk, "case": case.pk})
        self.stdout.write(_("%(n)s committee case(s) open.") % {"n": have})
