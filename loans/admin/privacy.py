"""Personal data duties in the admin: consents to credit checks, the record of export and
erasure requests, and the export and erasure pages of a person (README "Personal data")."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.backoffice.permissions import GuardedModelAdmin, ReadOnlyModelAdmin

from ..errors import DomainError
from ..models import CreditCheckConsent, Person, PersonDataRequest
from ..services.privacy import consent_record, consent_withdraw, person_erase, person_export

EXPORT_PERMISSION = "loans.export_person_data"
ERASE_PERMISSION = "loans.erase_person_data"


class ConsentForm(forms.ModelForm):
    class Meta:
        model = CreditCheckConsent
        fields = ["person", "source", "granted_at", "evidence"]


@admin.action(description=gettext_lazy("Withdraw the selected consents"), permissions=["change"])
def withdraw_consents(modeladmin, request, queryset):
    withdrawn = 0
    for consent in queryset.filter(withdrawn_at__isnull=True).order_by("pk"):
        if consent_withdraw(person_id=consent.person_id, source=consent.source, actor=request.user):
            withdrawn += 1
    modeladmin.message_user(request, _("Withdrawn: %(n)s consent(s).") % {"n": withdrawn}, messages.SUCCESS)


@admin.register(CreditCheckConsent)
class CreditCheckConsentAdmin(GuardedModelAdmin):
    """Consents are recorded (through ``consent_record``) and withdrawn, never edited."""

    form = ConsentForm
    list_display = ["person", "source", "granted_at", "withdrawn_at", "partner", "recorded_by"]
    list_select_related = ["person", "partner", "recorded_by"]
    list_filter = ["source", ("withdrawn_at", admin.EmptyFieldListFilter)]
    autocomplete_fields = ["person"]
    actions = [withdraw_consents]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["withdrawn_at"]
        return [f.name for f in CreditCheckConsent._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:  # everything is read-only on an existing consent
            return
        saved = consent_record(
            person_id=obj.person_id, source=obj.source, actor=request.user, evidence=obj.evidence, granted_at=obj.granted_at,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(PersonDataRequest)
class PersonDataRequestAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "person", "kind", "outcome", "channel", "requested_by"]
    list_select_related = ["person", "requested_by"]
    list_filter = ["kind", "outcome"]
    date_hierarchy = "created_at"


class DataRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text=gettext_lazy("The person's request and its reference; recorded with your name."),
    )


def _request_form(modeladmin, request, person, title, perform):
    form = DataRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            response = perform(form.cleaned_data["reason"])
        except (DomainError, ValidationError) as exc:
            form.add_error(None, str(exc))
        else:
            if response is not None:
                return response
            return redirect(reverse("admin:parties_person_change", args=[person.pk]))
    context = {**modeladmin.admin_site.each_context(request), "title": title, "form": form, "object": person, "opts": Person._meta}
    return TemplateResponse(request, "admin/loans/lending_form.html", context)


def export_view(modeladmin, request, object_id):
    """GET: the form asking why; POST: the person's data as a JSON download (recorded)."""
    person = get_object_or_404(Person, pk=object_id)

    def perform(reason):
        data = person_export(person_id=person.pk, actor=request.user, reason=reason, channel="admin")
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="person-{person.pk}.json"'
        response["Cache-Control"] = "no-store"
        return response

    return _request_form(modeladmin, request, person, _("Export the data of person #%(id)s") % {"id": person.pk}, perform)


def erase_view(modeladmin, request, object_id):
    """GET: the form asking why; POST: erase, or say why the lender must keep the data."""
    person = get_object_or_404(Person, pk=object_id)

    def perform(reason):
        done = person_erase(person_id=person.pk, actor=request.user, reason=reason, channel="admin")
        if done.outcome == PersonDataRequest.Outcome.REFUSED:
            modeladmin.message_user(request, _("Erasure refused: %(why)s.") % {"why": done.refusal}, messages.ERROR)
        else:
            modeladmin.message_user(request, _("Person #%(id)s erased.") % {"id": person.pk}, messages.SUCCESS)
        return None

    return _request_form(modeladmin, request, person, _("Erase the data of person #%(id)s") % {"id": person.pk}, perform)

