"""Admin for borrowers, products, partners and security.

Personal data is never shown in clear: a person's resident ID and phone appear masked (the
ID as province and last four characters, beside the birth year only, so that what is shown
does not determine the number), and the add form takes them once, validates them and stores
them encrypted.  A full resident ID is looked up through a POST form (the number travels in
the request body, never in a URL, so it reaches no access log) that redirects to the record.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.backoffice.formatting import format_money
from config.backoffice.paginator import EstimatedCountPaginator
from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin

from .. import value_dates
from ..errors import DomainError
from ..models import Collateral, Company, Guarantee, LoanProduct, Partner, Person, PersonalDataReveal, RelatedParty
from ..parties import identity
from ..services.borrowers import (
    borrower_blocklist_sync,
    ownership_checked,
    ownership_total_error,
    person_personal_data_reveal,
)
from . import privacy as privacy_admin


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean_uscc(self):
        try:
            return identity.normalize_uscc(self.cleaned_data["uscc"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["uscc"]) from None

    def clean(self):
        cleaned = super().clean()
        for name in ("registered_capital", "annual_revenue"):
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, "Must not be negative.")
        if cleaned.get("founded_on") is not None:
            try:
                value_dates.check_founded_on(cleaned["founded_on"])
            except ValidationError as exc:
                self.add_error("founded_on", exc.message_dict["founded_on"])
        return cleaned

    def save(self, commit=True):
        company = super().save(commit=False)
        borrower_blocklist_sync(record=company, is_new=company._state.adding, flag_changed="is_blocklisted" in self.changed_data)
        if commit:
            company.save()
            self.save_m2m()
        return company


class RelatedPartyFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        total = Decimal("0")
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE") or not form.cleaned_data:
                continue
            data = form.cleaned_data
            # The services' rule, word for word (loans.services.borrowers.ownership_checked).
            pct, problems = ownership_checked(data.get("role"), data.get("ownership_pct"))
            for problem in problems:
                form.add_error("ownership_pct", problem)
            if pct is not None and data.get("valid_to") is None:
                total += pct
        if message := ownership_total_error(total):
            raise ValidationError(message)


class RelatedPartyInline(admin.TabularInline):
    model = RelatedParty
    formset = RelatedPartyFormSet
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "role", "ownership_pct", "valid_from", "valid_to"]

    def get_queryset(self, request):
        # Each row's title names the person and the company: read with the rows, not once a row.
        return super().get_queryset(request).select_related("person", "company")


@admin.register(Partner)
class PartnerAdmin(GuardedModelAdmin):
    list_display = ["name", "is_active", "created_at"]
    search_fields = ["name"]
    list_filter = ["is_active"]


@admin.register(Company)
class CompanyAdmin(GuardedModelAdmin):
    form = CompanyForm
    list_display = ["legal_name", "uscc", "industry", "province", "status", "annual_revenue", "employees", "partner"]
    list_filter = ["status", "industry", "province", "is_blocklisted"]
    search_fields = ["legal_name", "=uscc"]
    list_select_related = ["partner"]
    autocomplete_fields = ["partner"]
    inlines = [RelatedPartyInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


class PersonForm(forms.ModelForm):
    """Takes the resident ID and phone in clear once; stores them encrypted and masked."""

    resident_id = forms.CharField(
        label="Resident ID", max_length=18, required=False,
        help_text="18 digits; stored encrypted, shown masked. Leave empty to keep the current one.",
    )
    phone = forms.CharField(label="Mobile phone", max_length=20, required=False, help_text="Stored encrypted, shown masked.")

    class Meta:
        model = Person
        fields = ["name", "is_blocklisted", "partner"]

    def clean_resident_id(self):
        value = self.cleaned_data.get("resident_id", "").strip()
        if not value:
            if self.instance.pk:
                return ""
            raise ValidationError("This field is required.")
        try:
            return identity.normalize_resident_id(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["resident_id"]) from None

    def clean(self):
        cleaned = super().clean()
        compact = cleaned.get("resident_id")
        if compact and "partner" not in self.errors:
            # Unique within one file (a partner's, or the lender's own): see Person.
            partner = cleaned.get("partner")
            clash = Person.objects.filter(resident_id_hash=identity.lookup_hash(compact)).exclude(pk=self.instance.pk)
            clash = clash.filter(partner=partner) if partner is not None else clash.filter(partner__isnull=True)
            if clash.exists():
                self.add_error("resident_id", "This file (the partner's, or the lender's own) already has a person with this resident ID.")
        return cleaned

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "").strip()
        if not value:
            return ""
        try:
            return identity.normalize_phone(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["phone"]) from None

    def save(self, commit=True):
        person = super().save(commit=False)
        if self.cleaned_data.get("resident_id"):
            person.set_resident_id(self.cleaned_data["resident_id"])
        if self.cleaned_data.get("phone"):
            person.set_phone(self.cleaned_data["phone"])
        borrower_blocklist_sync(record=person, is_new=person._state.adding, flag_changed="is_blocklisted" in self.changed_data)
        if commit:
            person.save()
        return person


class ResidentIdLookupForm(forms.Form):
    resident_id = forms.CharField(
        label=_("Resident ID"), max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_resident_id(self):
        try:
            return identity.normalize_resident_id(self.cleaned_data["resident_id"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["resident_id"]) from None


def _looks_like_resident_id(term: str) -> bool:
    compact = "".join(term.split()).upper()
    return len(compact) >= 15 and compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] == "X")


class RevealForm(forms.Form):
    field = forms.ChoiceField(label=_("Show"), choices=PersonalDataReveal.Field.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text=_("Logged with your name and the time."))


@admin.register(Person)
class PersonAdmin(GuardedModelAdmin):
    form = PersonForm
    list_display = ["name", "resident_id_masked", "phone_masked", "birth_year", "is_blocklisted", "company_count", "partner"]
    list_select_related = ["partner"]
    list_filter = ["is_blocklisted"]
    search_fields = ["name", "resident_id_masked"]
    readonly_fields = ["resident_id_masked", "phone_masked", "birth_year", "reveal_link"]
    autocomplete_fields = ["partner"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description=_("full resident ID or phone"))
    def reveal_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:parties_person_reveal", args=[obj.pk]), _("Reveal, with a reason…"))

    def get_queryset(self, request):
        # A correlated count, computed for the rows shown only (a join with GROUP BY made
        # PostgreSQL aggregate every person before it could take a page).
        companies = (
            RelatedParty.objects.filter(person=OuterRef("pk")).order_by().values("person")
            .annotate(n=Count("company", distinct=True)).values("n")
        )
        return super().get_queryset(request).annotate(_companies=Coalesce(Subquery(companies), 0))

    @admin.display(description="companies", ordering="_companies")
    def company_count(self, obj):
        return obj._companies

    def get_search_results(self, request, queryset, search_term):
        # The search box is a GET: a full resident ID typed there is already in the access
        # log, so it is not searched (the lookup form above the list takes it by POST).
        if _looks_like_resident_id(search_term):
            messages.warning(request, _("Resident ID numbers are not searched here: use “Find by resident ID”, which keeps the number out of the logs."))
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        lookup = path("lookup/", self.permission_view(self.lookup_view, "parties.view_person"), name="parties_person_lookup")
        # Personal data duties (loans/admin/privacy.py): export and erasure on request.
        export = path(
            "<int:object_id>/export/",
            self.permission_view(self.export_view, "parties.view_person", privacy_admin.EXPORT_PERMISSION),
            name="parties_person_export",
        )
        erase = path(
            "<int:object_id>/erase/",
            self.permission_view(self.erase_view, "parties.view_person", privacy_admin.ERASE_PERMISSION),
            name="parties_person_erase",
        )
        reveal = path(
            "<int:person_id>/reveal/",
            self.permission_view(self.reveal_view, "parties.view_person", "parties.reveal_personal_data"),
            name="parties_person_reveal",
        )
        return [lookup, export, erase, reveal, *super().get_urls()]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("credit_check_consents")
        if obj is not None and request.user.has_perms(("parties.view_person",)) and (
            request.user.has_perm(privacy_admin.EXPORT_PERMISSION) or request.user.has_perm(privacy_admin.ERASE_PERMISSION)
        ):
            fields.append("personal_data")
        return fields

    @admin.display(description=_("consents to credit checks"))
    def credit_check_consents(self, obj):
        # Shown, not edited here (a form without inline formsets): consents are recorded and
        # withdrawn under "Credit check consents", through loans.services.privacy.
        current = obj.credit_check_consents.filter(withdrawn_at__isnull=True).order_by("source")
        return ", ".join(f"{c.get_source_display()} ({c.granted_at:%Y-%m-%d})" for c in current) or _("none")

    @admin.display(description=_("personal data"))
    def personal_data(self, obj):
        # Each page checks its own permission (export_person_data, erase_person_data).
        links = (("admin:parties_person_export", _("Export (JSON)…")), ("admin:parties_person_erase", _("Erase on request…")))
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', ((reverse(n, args=[obj.pk]), label) for n, label in links))

    def export_view(self, request, object_id):
        return privacy_admin.export_view(self, request, object_id)

    def erase_view(self, request, object_id):
        return privacy_admin.erase_view(self, request, object_id)

    def reveal_view(self, request, person_id):
        """Show a full resident ID or phone once, for a stated reason, and log it."""
        person = get_object_or_404(Person, pk=person_id)
        form = RevealForm(request.POST or None)
        shown = None
        if request.method == "POST" and form.is_valid():
            try:
                shown = person_personal_data_reveal(
                    person_id=person.pk, field=form.cleaned_data["field"], reason=form.cleaned_data["reason"], actor=request.user
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            except DomainError as exc:
                form.add_error(None, str(exc))
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "original": person,
            "title": _("Reveal personal data of %(name)s") % {"name": person.name},
            "form": form, "shown": shown, "field_label": dict(PersonalDataReveal.Field.choices).get(form.data.get("field")),
        }
        return TemplateResponse(request, "loans/person/reveal.html", context)

    def lookup_view(self, request):
        """Find a person by full resident ID (POST only) and redirect to the record, or to the
        list of the records (one per partner file) that carry it."""
        changelist = reverse("admin:parties_person_changelist")
        if request.method != "POST":
            return redirect(changelist)
        form = ResidentIdLookupForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["resident_id"]))
            return redirect(changelist)
        found = list(
            Person.objects.filter(resident_id_hash=identity.lookup_hash(form.cleaned_data["resident_id"]))
            .order_by("pk").values_list("pk", flat=True)
        )
        if not found:
            messages.warning(request, _("No person has this resident ID."))
            return redirect(changelist)
        if len(found) == 1:
            return redirect(reverse("admin:parties_person_change", args=[found[0]]))
        return redirect(f"{changelist}?{urlencode({'id__in': ','.join(map(str, found))})}")


@admin.register(RelatedParty)
class RelatedPartyAdmin(GuardedModelAdmin):
    list_display = ["company", "person", "role", "ownership_pct", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["company__legal_name", "=company__uscc", "person__name"]
    list_select_related = ["company", "person"]
    autocomplete_fields = ["company", "person"]


@admin.register(LoanProduct)
class LoanProductAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "kind", "repayment_method", "min_amount", "max_amount", "min_term_months", "max_term_months", "min_score", "is_active"]
    list_filter = ["kind", "repayment_method", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Collateral)
class CollateralAdmin(GuardedModelAdmin):
    list_display = ["description", "kind", "owner", "appraised_value", "haircut_pct", "lending_value", "credit_line", "loan", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["description", "owner__legal_name", "=owner__uscc"]
    list_select_related = ["owner", "credit_line__company", "loan"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["credit_line", "loan"]

    @admin.display(description=_("lending value"))
    def lending_value(self, obj):
        # a property of the row (appraised value less the haircut): formatted here as the fields are
        return format_html('<span class="bo-num">{}</span>', format_money(obj.lending_value))


@admin.register(Guarantee)
class GuaranteeAdmin(GuardedModelAdmin):
    list_display = ["id", "guarantor_person", "guarantor_company", "amount", "credit_line", "loan", "status"]
    list_filter = ["status"]
    search_fields = ["guarantor_person__name", "guarantor_company__legal_name"]
    list_select_related = ["guarantor_person", "guarantor_company", "credit_line__company", "loan"]
    autocomplete_fields = ["guarantor_person", "guarantor_company"]
    raw_id_fields = ["credit_line", "loan"]


@admin.register(PersonalDataReveal)
class PersonalDataRevealAdmin(ReadOnlyModelAdmin):
    list_display = ["revealed_at", "revealed_by", "person", "field", "reason"]
    list_filter = ["field"]
    list_select_related = ["revealed_by", "person"]
    search_fields = ["=person__id", "revealed_by__username"]
    date_hierarchy = "revealed_at"
