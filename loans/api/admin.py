from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin

from config.backoffice.permissions import GuardedModelAdmin, PermissionGuard

from .models import IdempotencyRecord, PartnerAPIKey, WebhookDelivery, WebhookEndpoint
from .webhooks import webhook_resend


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(PermissionGuard, APIKeyModelAdmin):
    """Issue a key with "Add" (shown once, in the success message); revoke with the checkbox."""

    list_display = [*APIKeyModelAdmin.list_display, "partner"]
    list_filter = [*APIKeyModelAdmin.list_filter, "partner"]
    list_select_related = ["partner"]
    search_fields = [*APIKeyModelAdmin.search_fields, "partner__name"]
    autocomplete_fields = []


def secret_hint(secret: str) -> str:
    """Enough of a signing secret to tell two apart, not enough to sign with."""
    if not secret:
        return "—"
    head = "whsec_" if secret.startswith("whsec_") else ""
    return f"{head}…{secret[-4:]}"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(GuardedModelAdmin):
    """The signing secret is generated when the endpoint is added and shown once, in the
    message that follows; afterwards the admin shows only a hint of it."""

    list_display = ["id", "partner", "url", "is_active", "created_at"]
    list_filter = ["is_active", "partner"]
    list_select_related = ["partner"]
    search_fields = ["url", "partner__name"]
    fields = ["partner", "url", "events", "is_active", "signing_secret", "created_at"]
    readonly_fields = ["signing_secret", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fields(self, request, obj=None):
        return ["partner", "url", "events", "is_active"] if obj is None else self.fields

    @admin.display(description=_("signing secret"))
    def signing_secret(self, obj):
        return secret_hint(obj.secret)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                _("Signing secret of endpoint #%(id)s: %(secret)s — give it to the partner now; it will not be shown again.")
                % {"id": obj.pk, "secret": obj.secret},
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(GuardedModelAdmin):
    """The delivery log: every event sent to every endpoint, with its attempts."""

    list_display = ["id", "event_type", "endpoint", "status", "attempts", "last_response_code", "next_attempt_at", "created_at"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint", "endpoint__partner"]
    search_fields = ["endpoint__url", "endpoint__partner__name"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["resend"]

    @admin.action(description=_("Re-send the selected deliveries"), permissions=["resend_webhook"])
    def resend(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            webhook_resend(delivery_id=pk)
        self.message_user(request, _("%(count)d deliveries queued again.") % {"count": len(ids)}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(GuardedModelAdmin):
    list_display = ["id", "partner", "key", "response_status", "created_at", "completed_at"]
    list_select_related = ["partner"]
    search_fields = ["key"]
    readonly_fields = ["partner", "key", "fingerprint", "response_status", "response_body", "created_at", "completed_at"]
