"""Personal data duties (issue 16): consent to credit checks, and the record of every export and
erasure request (README "Personal data")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .core import Partner, Person


class ConsentSource(models.TextChoices):
    """Where a credit check looks: the same words as the credit data's ``source``."""

    BUREAU = "bureau", _("Credit bureau (PBOC Credit Reference Center, Baihang)")
    PARTNER = "partner", _("The referring partner's data")
    LENDER = "lender", _("The lender's own book")


class CreditCheckConsent(models.Model):
    """A person's consent to credit checks against one source: granted at a time, collected by a
    partner or a staff member, with a reference to the signed authorisation (never the document
    itself); withdrawn by setting ``withdrawn_at``.  One current consent per person and source."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="credit_check_consents")
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    granted_at = models.DateTimeField(_("granted at"))
    evidence = models.CharField(
        _("evidence"), max_length=200, blank=True, default="",
        help_text=_("Reference of the signed authorisation (document number, e-signature id)."),
    )
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("credit check consent")
        verbose_name_plural = _("credit check consents")
        ordering = ["person_id", "source", "-granted_at"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=ConsentSource.values), name="consent_source_valid"),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=F("granted_at")),
                name="consent_withdrawn_after_granted",
            ),
            models.UniqueConstraint(
                fields=["person", "source"], condition=Q(withdrawn_at__isnull=True), name="consent_one_current_per_source",
            ),
        ]

    def __str__(self) -> str:
        state = _("withdrawn") if self.withdrawn_at else _("granted")
        return _("Person #%(person)s: %(source)s checks %(state)s") % {
            "person": self.person_id, "source": self.get_source_display(), "state": state,
        }


class PersonDataRequest(models.Model):
    """One export or erasure of a person's data, done or refused, with who asked and why:
    written by ``loans.services.privacy``, never edited."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        ERASURE = "erasure", _("Erasure")

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="data_requests")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    reason = models.TextField(_("reason"), help_text=_("Why the data was asked for or erasure requested."))
    refusal = models.TextField(_("why refused"), blank=True, default="")
    channel = models.CharField(_("channel"), max_length=16, help_text=_("admin or command"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("personal data request")
        verbose_name_plural = _("personal data requests")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_person_data", _("Can export a person's data")),
            ("erase_person_data", _("Can erase a person's data")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["export", "erasure"]), name="data_request_kind_valid"),
            models.CheckConstraint(condition=Q(outcome__in=["done", "refused"]), name="data_request_outcome_valid"),
            models.CheckConstraint(condition=~Q(outcome="refused") | ~Q(refusal=""), name="data_request_refusal_explained"),
            models.CheckConstraint(condition=~Q(reason=""), name="data_request_reason_given"),
        ]
        indexes = [models.Index(fields=["person", "-created_at"], name="data_request_person_idx")]

    def __str__(self) -> str:
        return _("%(kind)s of person #%(person)s: %(outcome)s") % {
            "kind": self.get_kind_display(), "person": self.person_id, "outcome": self.get_outcome_display(),
        }
