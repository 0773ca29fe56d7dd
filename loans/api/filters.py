import django_filters
from django import forms

from loans.choices import ApplicationStatus, Bucket, Classification, CompanyStatus, CreditLineStatus, LoanStatus
from loans.models import Company, CreditLine, Loan, LoanApplication


class NoEmptyValuesForm(forms.Form):
    """A filter given with no value (``?status=``) is a 400 naming it, like any other value the
    schema does not allow; django-filter alone would quietly not filter."""

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            if name not in self.data:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data[name]]
            if not any(str(v).strip() for v in values):
                self.add_error(name, "Give a value, or leave the parameter out.")
        return cleaned


class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number (NumberFilter alone takes 1.5 and finds nothing)."""

    field_class = forms.IntegerField


class CompanyFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CompanyStatus.choices)
    uscc = django_filters.CharFilter(max_length=18)

    class Meta:
        form = NoEmptyValuesForm
        model = Company
        fields = ["status", "industry", "province", "uscc"]


class ApplicationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApplicationStatus.choices)
    company = IdFilter(field_name="company_id", min_value=1, max_value=2**62)

    class Meta:
        form = NoEmptyValuesForm
        model = LoanApplication
        fields = ["status", "company"]


class CreditLineFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CreditLineStatus.choices)
    company = IdFilter(field_name="company_id", min_value=1, max_value=2**62)

    class Meta:
        form = NoEmptyValuesForm
        model = CreditLine
        fields = ["status", "company"]


class LoanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LoanStatus.choices)
    bucket = django_filters.ChoiceFilter(choices=Bucket.choices)
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    company = IdFilter(field_name="company_id", min_value=1, max_value=2**62)
    credit_line = IdFilter(field_name="credit_line_id", min_value=1, max_value=2**62)

    class Meta:
        form = NoEmptyValuesForm
        model = Loan
        fields = ["status", "bucket", "classification", "company", "credit_line"]
