"""Put a few demo matters before the credit committee, as the demo loan officer:

* applications: apply for lender-owned companies whose latest score is in the policy's grey
  band, keeping those the engine refers (each opens a committee case) and rolling back any other
  outcome;
* escalated post-loan actions (``--actions``): propose a recall of the active loan of the
  borrower with the worst live warning (else the most overdue loan) through the post-loan
  services; a recall always goes to the committee, which opens its case.

Idempotent: does nothing once that many cases of each kind are open.  Run after ``demo_users``."""

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
from monitoring.models import CaseStatus, CommitteeCase, PostLoanAction


class _NotReferred(Exception):
    pass


class Command(BaseCommand):
    help = _("Refer a few demo applications to the credit committee (as the demo loan officer).")

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=2)
        parser.add_argument("--officer", default="officer", help=_("The demo loan officer's username."))
        parser.add_argument("--tries", type=int, default=40)
        parser.add_argument("--actions", type=int, default=1, help=_("Escalated post-loan actions to put before the committee."))

    def handle(self, *args, count, officer, tries, actions, **options):
        from scoring.models import LatestScore

        user = get_user_model().objects.filter(username=officer).first()
        if user is None:
            raise CommandError(_("No user %(name)s: run demo_users first.") % {"name": officer})
        self._escalate_actions(user, actions)
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

    def _escalate_actions(self, user, wanted: int) -> None:
        from django.db.models import Case, IntegerField, Q, Value, When

        from loans.choices import LoanStatus
        from loans.models import Loan
        from monitoring.actions import post_loan_action_propose
        from monitoring.models import ALERT_LIVE_STATUSES, OPEN_ACTION_STATUSES, Alert

        have = CommitteeCase.objects.filter(kind="post_loan_action", status=CaseStatus.OPEN).count()
        if have >= wanted:
            return
        busy = PostLoanAction.objects.filter(loan__isnull=False).filter(
            Q(status__in=OPEN_ACTION_STATUSES) | Q(kind="recall", status="executed")).values("loan_id")
        worst = Case(When(severity="high", then=Value(0)), When(severity="medium", then=Value(1)), default=Value(2),
                     output_field=IntegerField())
        warned = (Alert.objects.filter(status__in=ALERT_LIVE_STATUSES, company__isnull=False).annotate(rank=worst)
                  .order_by("rank", "-last_seen_on", "pk").values_list("company_id", "rule", "severity")[:50])
        loans = Loan.objects.filter(status=LoanStatus.ACTIVE, outstanding_principal__gt=0).exclude(pk__in=busy)
        candidates = [(loan, _("%(rule)s warning (%(severity)s): the borrower's risk no longer supports the loan.")
                       % {"rule": rule, "severity": severity})
                      for company_id, rule, severity in warned
                      for loan in loans.filter(credit_line__company_id=company_id).order_by("pk")[:1]]
        candidates += [(loan, _("%(dpd)s days past due.") % {"dpd": loan.days_past_due})
                       for loan in loans.order_by("-days_past_due", "pk")[:5]]
        for loan, reason in candidates:
            if have >= wanted:
                break
            try:
                with transaction.atomic():
                    action = post_loan_action_propose(kind="recall", loan_id=loan.pk, actor=user, reason=reason)
            except (DomainError, ValidationError):
                continue
            have += 1
            case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=action.pk)
            self.stdout.write(_("Recall of loan #%(loan)s proposed: committee case #%(case)s.") % {"loan": loan.pk, "case": case.pk})
