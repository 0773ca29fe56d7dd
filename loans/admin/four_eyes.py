"""The admin of a version under four eyes (``FourEyesVersion``: the credit policy, the warning
rules).  Saving never edits a version: the concrete admin's save proposes a new one; the
review page shows what it changes and lets another person holding the publish right approve
(publish) or reject it, with a comment.  Versions are never deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.backoffice.permissions import GuardedModelAdmin

from ..errors import DomainError
from ..models.four_eyes import VersionStatus


def error_text(exc: Exception) -> str:
    """A service's refusal as one line for a message or a form error."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc)


class PolicyDecisionForm(forms.Form):
    """The comment of a decision on a proposed version (credit policy, warning rule)."""

    note = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text=_("Required to reject; kept with the version."),
        required=False,
    )


class VersionReviewAdmin(GuardedModelAdmin):
    """A concrete admin names the publish right, its review template (which includes
    ``admin/_version_review.html``) and its services, and says how a changed value reads."""

    publish_permission: str  # "app_label.codename"
    review_template: str
    approve_service = None  # (*, <id_argument>, actor, note) -> the version
    reject_service = None
    id_argument: str  # the services' keyword for the version's id

    def changes(self, version) -> list[tuple[str, str, str]]:
        """(setting, value before, value proposed) as people read them."""
        raise NotImplementedError

    def review_title(self, version) -> str:
        return version.version_name

    @property
    def review_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_review"

    @admin.display(description=_("review"))
    def review_link(self, version):
        if version.status != VersionStatus.PROPOSED:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse(f"admin:{self.review_url_name}", args=[version.pk]), _("Review")
        )

    def has_add_permission(self, request):
        return request.user.has_perm(self.publish_permission)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(self.publish_permission)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        review = path(
            "<int:version_id>/review/",
            self.permission_view(self.review_view, self.publish_permission),
            name=self.review_url_name,
        )
        return [review, *super().get_urls()]

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(f"admin:{self.review_url_name}", version_id=obj.pk)

    def response_change(self, request, obj):
        return redirect(f"admin:{self.review_url_name}", version_id=obj.pk)

    def review_view(self, request, version_id):
        version = get_object_or_404(
            self.model.objects.select_related("created_by", "approved_by", "rejected_by"), pk=version_id
        )
        form = PolicyDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            decide = type(self).approve_service if "do-approve" in request.POST else type(self).reject_service
            try:
                decided = decide(**{self.id_argument: version.pk}, actor=request.user, note=form.cleaned_data["note"])
            except (DomainError, ValidationError) as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                if decided.is_active:
                    self.message_user(
                        request,
                        _("%(name)s is published and active.") % {"name": decided.version_name},
                        messages.SUCCESS,
                    )
                else:
                    self.message_user(
                        request, _("%(name)s is rejected.") % {"name": decided.version_name}, messages.WARNING
                    )
                return redirect(f"admin:{self.review_url_name}", version_id=version.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "version": version,
            "form": form,
            "title": self.review_title(version),
            "changes": self.changes(version),
            "can_decide": version.status == VersionStatus.PROPOSED,
            "own": version.maker == f"user:{request.user.pk}",
        }
        return TemplateResponse(request, self.review_template, context)
