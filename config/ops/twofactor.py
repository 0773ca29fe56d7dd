"""Two-factor login for staff (TOTP, django-otp).

* The admin login asks for the authenticator code of a user who has enrolled one, and refuses
  the login without a right code.
* Under production settings (``OTP_REQUIRED``) superusers and members of the groups named in
  ``OTP_REQUIRED_GROUPS`` must have one: without it the login is refused with an explanation,
  and an administrator enrols their device (``manage.py enrol_totp``).  A password alone never
  lets such a user enrol a device for themselves: that would let whoever stole the password
  add their own.
* A session that is not verified by a code is logged out of the admin when its user must use
  two factors or has a device (e.g. one enrolled after the session began).
* Each user has at most one authenticator; enrolling a new one (``/admin/two-factor/``, or
  the command with ``--replace``) replaces the old after a code from the new one is accepted.

Wrong codes are throttled by django-otp per device (a growing delay) and are also reported as
failed logins (``user_login_failed``), so a login-lockout app that listens to that signal
(django-axes) counts them like wrong passwords.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "authenticator"


def two_factor_required(user) -> bool:
    """Must this user log in with a second factor?  Only where ``OTP_REQUIRED`` is on
    (production), for superusers and the groups named in ``OTP_REQUIRED_GROUPS``."""
    if not getattr(settings, "OTP_REQUIRED", False) or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=getattr(settings, "OTP_REQUIRED_GROUPS", ())).exists()


def totp_device(user) -> TOTPDevice | None:
    """The user's enrolled (confirmed) authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def _verify(device: TOTPDevice, token: str) -> str | None:
    """Check ``token`` against ``device`` under its row lock; None when accepted, else the
    error code.  The throttle counter django-otp keeps on the device must be saved even when
    the code is wrong, so the error is returned, not raised, inside the transaction."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            return "otp_throttled"
        return None if device.verify_token(token) else "otp_invalid"


def _clean_token(value: str) -> str:
    return "".join((value or "").split())


class StaffLoginForm(AdminAuthenticationForm):
    """The admin login form with the authenticator code."""

    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
        help_text=_("The 6-digit code from your authenticator app, if you have enrolled one."),
    )

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # The admin theme's (django-unfold's) input style.
        from unfold.widgets import BASE_INPUT_CLASSES

        for name in ("username", "password", "otp_token"):
            self.fields[name].widget.attrs["class"] = " ".join(BASE_INPUT_CLASSES)
        self.fields["username"].widget.attrs["autofocus"] = ""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("Enter the 6-digit code from your authenticator app."),
        "otp_invalid": _(
            "That authenticator code is not right. Check that your phone's clock is correct and try again."
        ),
        "otp_throttled": _("Too many wrong authenticator codes. Wait a minute and try again."),
        "otp_enrolment_required": _(
            "Your role requires two-factor authentication, and you have no authenticator yet. "
            "Ask an administrator to enrol one for you."
        ),
    }

    def clean(self):
        cleaned = super().clean()  # password, active, staff: raises before any code is looked at
        user = self.get_user()
        if user is None:
            return cleaned
        device = totp_device(user)
        if device is None:
            if two_factor_required(user):
                raise ValidationError(
                    self.error_messages["otp_enrolment_required"], code="otp_enrolment_required"
                )
            return cleaned
        token = _clean_token(cleaned.get("otp_token"))
        if not token:
            raise ValidationError(self.error_messages["otp_required"], code="otp_required")
        error = _verify(device, token)
        if error:
            # Counted by login lockout (django-axes listens to this signal) like a wrong password.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": cleaned.get("username")},
                request=self.request,
            )
            raise ValidationError(self.error_messages[error], code=error)
        user.otp_device = device  # django-otp's user_logged_in receiver marks the session verified
        return cleaned


class AdminTwoFactorMiddleware:
    """Logs out of the admin a session that should carry a second factor and does not.
    Install after django-otp's ``OTPMiddleware`` and the message middleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        if request.path.startswith(self._admin_prefix):
            user = request.user
            if user.is_authenticated and user.is_staff and not user.is_verified():
                if totp_device(user) is not None or two_factor_required(user):
                    logout(request)
                    messages.warning(
                        request, gettext("Please log in again with your authenticator code.")
                    )
        return self.get_response(request)


def qr_svg(uri: str) -> str:
    import segno

    return segno.make(uri, error="m").svg_inline(
        scale=4, border=2, light="#fff"
    )  # readable in the dark theme too


def _may_enrol(request) -> bool:
    """Verified sessions may replace their authenticator; users who have none may add one
    unless their role requires one (then an administrator enrols it, see the module doc)."""
    user = request.user
    if user.is_verified():
        return True
    return totp_device(user) is None and not two_factor_required(user)


@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """The staff user's own authenticator: see it, enrol one, replace it.  Wrapped in
    ``admin_site.admin_view`` (staff only) by the URLconf."""
    from django.contrib import admin

    user = request.user
    current = totp_device(user)
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    error = None
    if request.method == "POST":
        if not _may_enrol(request):
            messages.error(request, gettext("Ask an administrator to enrol your authenticator."))
            return redirect("two_factor_setup")
        action = request.POST.get("action")
        if action == "start":
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                pending = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        elif action == "confirm" and pending is not None:
            code = _verify(pending, _clean_token(request.POST.get("otp_token")))
            if code is None:
                with transaction.atomic():
                    TOTPDevice.objects.filter(user=user).exclude(pk=pending.pk).delete()
                    TOTPDevice.objects.filter(pk=pending.pk).update(confirmed=True)
                pending.confirmed = True
                otp_login(request, pending)
                messages.success(
                    request, gettext("Your authenticator is enrolled. Use its code at every login.")
                )
                return redirect("two_factor_setup")
            error = StaffLoginForm.error_messages[code]
        else:
            return redirect("two_factor_setup")
    context = {
        **admin.site.each_context(request),
        "title": _("Two-factor authentication"),
        "current": current,
        "pending": pending,
        "may_enrol": _may_enrol(request),
        "required": two_factor_required(user),
        "error": error,
    }
    if pending is not None:
        uri = pending.config_url
        context.update(otpauth_uri=uri, qr=mark_safe(qr_svg(uri)))  # noqa: S308 - segno's own SVG markup
    return TemplateResponse(request, "ops/two_factor.html", context)
