import django_filters

from loans.choices import ApplicationStatus, Bucket, Classification, CompanyStatus, CreditLineStatus, LoanStatus
from loans.models import Company, CreditLine, Loan, LoanApplication


class CompanyFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CompanyStatus.choices)
    uscc = django_filters.CharFilter(max_length=18)

    class Meta:
        model = Company
        fields = ["status", "industry", "province", "uscc"]


class ApplicationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApplicationStatus.choices)
    company = django_filters.NumberFilter(field_name="company_id", min_value=1, max_value=2**62)

    class Meta:
        model = LoanApplication
        fields = ["status", "company"]


class CreditLineFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CreditLineStatus.choices)
    company = django_filters.NumberFilter(field_name="company_id", min_value=1, max_value=2**62)

    class Meta:
        model = CreditLine
        fields = ["status", "company"]


class LoanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LoanStatus.choices)
    bucket = django_filters.ChoiceFilter(choices=Bucket.choices)
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    company = django_filters.NumberFilter(field_name="company_id", min_value=1, max_value=2**62)
    credit_line = django_filters.NumberFilter(field_name="credit_line_id", min_value=1, max_value=2**62)

    class Meta:
        model = Loan
        fields = ["status", "bucket", "classification", "company", "credit_line"]
