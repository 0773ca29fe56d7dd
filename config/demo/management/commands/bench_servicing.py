"""Seed N synthetic loans (COPY on PostgreSQL) and time one daily servicing run over them.

Everything happens in one transaction that is rolled back at the end, so the bench leaves
nothing behind; run it against a scratch database anyway (servicing touches every active
loan there).  Loans are disbursed on spread-out dates so that the book holds every bucket.
"""

import datetime
import io
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from config.demo.identities import make_uscc
from loans.choices import ProductKind, RepaymentMethod
from loans.models import Company, CreditLine, Installment, Loan, LoanProduct
from loans.services.servicing import loans_service_daily


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Daily-servicing throughput: seed N loans, service them once, print loans/s (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=100_000)
        parser.add_argument("--installments", type=int, default=6)
        parser.add_argument("--as-of", default=None)

    def handle(self, *args, **options):
        n, k = options["n"], options["installments"]
        as_of = datetime.date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
        try:
            with transaction.atomic():
                t0 = time.perf_counter()
                self._seed(n, k, as_of)
                seeded = time.perf_counter() - t0
                if connection.vendor == "postgresql":
                    with connection.cursor() as cur:
                        cur.execute(f"ANALYZE {Loan._meta.db_table}; ANALYZE {Installment._meta.db_table}")
                t1 = time.perf_counter()
                result = loans_service_daily(as_of=as_of)
                seconds = time.perf_counter() - t1
                buckets = dict(Loan.objects.values_list("bucket").annotate(n=Count("id")).order_by())
                self.stdout.write(
                    f"database: {connection.vendor}\nseed_seconds: {seeded:.1f}\ninstallments: {n * k}\n"
                    f"loans: {result.loans_serviced}\nseconds: {seconds:.2f}\nloans_per_s: {result.loans_serviced / seconds:.0f}\n"
                    f"buckets: {buckets}"
                )
                raise _Rollback
        except _Rollback:
            pass

    def _seed(self, n: int, k: int, as_of: datetime.date) -> None:
        rng = random.Random(11)
        company = Company.objects.create(
            legal_name="Bench servicing", uscc=make_uscc(rng), industry="F", province="31", founded_on=datetime.date(2010, 1, 1),
            registered_capital=Decimal("1"), employees=1, annual_revenue=Decimal("1"),
        )
        product = LoanProduct.objects.create(
            code=f"bench-svc-{rng.randrange(10**9)}", name="bench", kind=ProductKind.REVOLVING, repayment_method=RepaymentMethod.EQUAL_PRINCIPAL,
            min_amount=Decimal("1"), max_amount=Decimal("1000000000000"), min_term_months=1, max_term_months=360,
        )
        line = CreditLine.objects.create(
            company=company, product=product, limit_amount=Decimal("9999999999999999"), annual_rate=Decimal("0.12"),
            opened_on=as_of - datetime.timedelta(days=2000), expires_on=as_of + datetime.timedelta(days=365),
        )
        now = timezone.now().isoformat()
        principal = Decimal("60000.00")
        part, interest = principal / k, Decimal("600.00")
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Loan._meta.db_table}")
                base = cur.fetchone()[0] + 1
                loans, insts = io.StringIO(), io.StringIO()
                for j in range(n):
                    disbursed = as_of - datetime.timedelta(days=20 + (j % 420))
                    first = disbursed + datetime.timedelta(days=30)
                    maturity = first + datetime.timedelta(days=30 * (k - 1))
                    loans.write(f"{base + j}\t{now}\t{now}\t{line.pk}\t{company.pk}\t{principal}\t0.120000\t{k}\tequal_principal\t{disbursed}\t{first}\t{maturity}\tactive\t{principal}\t0\t0\tcurrent\tnormal\n")
                    for m in range(k):
                        insts.write(f"{base + j}\t{m + 1}\t{first + datetime.timedelta(days=30 * m)}\t{part:.2f}\t{interest}\t0\t0\t0\t0\n")
                with cur.copy(
                    f"COPY {Loan._meta.db_table} (id, created_at, updated_at, credit_line_id, company_id, principal, annual_rate, term_months, "
                    "repayment_method, disbursed_on, first_due_date, maturity_date, status, outstanding_principal, penalty_accrued, "
                    "days_past_due, bucket, classification) FROM STDIN"
                ) as copy:
                    copy.write(loans.getvalue())
                del loans
                with cur.copy(
                    f"COPY {Installment._meta.db_table} (loan_id, number, due_date, principal_due, interest_due, penalty_due, "
                    "principal_paid, interest_paid, penalty_paid) FROM STDIN"
                ) as copy:
                    copy.write(insts.getvalue())
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{Loan._meta.db_table}', 'id'), %s)", [base + n])
        else:
            batch = 5000
            for start in range(0, n, batch):
                rows = []
                for j in range(start, min(n, start + batch)):
                    disbursed = as_of - datetime.timedelta(days=20 + (j % 420))
                    first = disbursed + datetime.timedelta(days=30)
                    rows.append(Loan(
                        credit_line=line, company=company, principal=principal, annual_rate=Decimal("0.12"), term_months=k,
                        repayment_method=RepaymentMethod.EQUAL_PRINCIPAL, disbursed_on=disbursed, first_due_date=first,
                        maturity_date=first + datetime.timedelta(days=30 * (k - 1)), outstanding_principal=principal,
                    ))
                Loan.objects.bulk_create(rows)
                Installment.objects.bulk_create(
                    [Installment(loan=ln, number=m + 1, due_date=ln.first_due_date + datetime.timedelta(days=30 * m), principal_due=part.quantize(Decimal("0.01")), interest_due=interest)
                     for ln in rows for m in range(k)],
                    batch_size=batch,
                )
