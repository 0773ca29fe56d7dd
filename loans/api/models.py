"""Partner API state: keys, idempotency records, webhook endpoints and their deliveries."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from config.history.records import History
from loans.models import Partner

from . import webhook_addresses


class PartnerAPIKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("partner")


class PartnerAPIKey(AbstractAPIKey):
    """A partner's key: stored hashed (SHA-512) under a public 8-character prefix; revocable
    and optionally expiring.  The full key is shown once, when it is created."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")

    objects = PartnerAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"
        indexes = [models.Index(fields=["partner", "-created"], name="apikey_partner_idx")]


class IdempotencyRecord(models.Model):
    """The first response to a partner's ``Idempotency-Key``; replayed for the same request,
    refused (422) for a different one.  Inserted before the work runs, so that of two
    concurrent requests with one key only one executes.  Until the response is stored the
    record is a lease held by attempt ``attempt``: once ``lease_until`` has passed (the holder
    died), a retry takes it over as the next attempt, and only the attempt that still holds
    the lease may store a response (see ``loans.api.idempotency``)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and canonical JSON body")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1, help_text="which request holds (or completed) the key")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="the holder's claim lapses then")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_at"], name="idem_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="idempotency_partner_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.key}"


class WebhookEvent(models.TextChoices):
    APPLICATION_DECIDED = "application.decided", "application.decided"
    CREDIT_LINE_CHANGED = "credit_line.changed", "credit_line.changed"
    LOAN_OVERDUE = "loan.overdue", "loan.overdue"
    POST_LOAN_ACTION_EXECUTED = "post_loan_action.executed", "post_loan_action.executed"
    POST_LOAN_ACTION_WITHDRAWN = "post_loan_action.withdrawn", "post_loan_action.withdrawn"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500, validators=[webhook_addresses.validate_webhook_url])
    secret = models.CharField(max_length=100, default=new_webhook_secret, help_text="Signs every delivery (HMAC-SHA256).")
    events = models.JSONField(default=list, blank=True, help_text="Event types to send; empty means all.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The signing secret stays out of the history.
    history = History(excluded_fields=["secret"])

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["partner", "is_active"], name="webhook_partner_active_idx")]

    def __str__(self) -> str:
        return f"{self.partner} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, with its attempts; the admin's delivery log.  The
    partner's log shows the status, the failure class and the status code its endpoint
    answered; ``last_error`` (the detail, e.g. the address a name resolved to) is for staff."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("waiting to run", "Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed (gave up)")

    class Failure(models.TextChoices):
        NON_2XX = webhook_addresses.NON_2XX, _("The endpoint answered with a status other than 2xx (redirects are not followed)")
        TIMEOUT = webhook_addresses.TIMEOUT, _("No answer in time")
        CONNECTION_REFUSED = webhook_addresses.CONNECTION_REFUSED, _("Connection refused")
        CONNECTION_ERROR = webhook_addresses.CONNECTION_ERROR, _("Connection failed or broke off")
        DNS_ERROR = webhook_addresses.DNS_ERROR, _("The host name did not resolve")
        TLS_ERROR = webhook_addresses.TLS_ERROR, _("TLS handshake or certificate check failed")
        BLOCKED_ADDRESS = webhook_addresses.BLOCKED_ADDRESS, _("The host is or resolves to a non-public address")
        HTTPS_REQUIRED = webhook_addresses.HTTPS_REQUIRED, _("The URL is not https")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_failure = models.CharField(max_length=20, choices=Failure.choices, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="", help_text="Detail for staff; never shown to the partner.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        permissions = [("resend_webhook", "Can re-send a webhook delivery")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "succeeded", "failed"]), name="webhook_delivery_status_valid"),
            models.CheckConstraint(
                condition=Q(last_failure__in=["", *webhook_addresses.FAILURES]), name="webhook_delivery_failure_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint.url} ({self.status})"
