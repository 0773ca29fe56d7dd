"""Versions under four eyes (maker-checker): the credit policy here, the warning rules in
``monitoring``.  A person *proposes* a version (inactive, its maker ``user:<id>`` recorded);
another person holding the model's publish right approves it, which publishes it as the active
version, or rejects it with a reason.  Only the system publishes in one step (maker
``system:<what>``).  The services are in ``loans.services.four_eyes``, the review page in
``loans.admin.four_eyes``.

It lives in ``loans`` because ``monitoring`` may import ``loans`` and never the reverse.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class VersionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")


def _person(verbose_name, *, on_delete) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name="+",
        verbose_name=verbose_name,
    )


class FourEyesVersion(models.Model):
    """The maker-checker fields of a versioned setting.  A concrete model adds its own
    ``version`` and passes :func:`four_eyes_constraints` into its ``Meta.constraints``."""

    is_active = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.PUBLISHED
    )
    maker = models.CharField(
        _("maker"), max_length=64, help_text=_("who proposed this version: user:<id> or system:<what>")
    )
    created_by = _person(_("proposed by"), on_delete=models.SET_NULL)
    based_on_version = models.PositiveIntegerField(
        _("based on version"),
        null=True,
        blank=True,
        help_text=_(
            "the active version when this one was proposed; approving is refused once another version was published"
        ),
    )
    approved_by = _person(_("approved by"), on_delete=models.PROTECT)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    rejected_by = _person(_("rejected by"), on_delete=models.PROTECT)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True, default="")

    class Meta:
        abstract = True

    @property
    def version_name(self) -> str:
        """How messages name this version ("Credit policy v3", "dpd_over v2")."""
        raise NotImplementedError


def four_eyes_constraints(prefix: str) -> list[models.BaseConstraint]:
    """The named backstops of :class:`FourEyesVersion` for one concrete model; ``prefix``
    keeps the names unique in the database (``credit_policy`` → ``credit_policy_status_valid``, …)."""
    return [
        models.CheckConstraint(condition=Q(status__in=VersionStatus.values), name=f"{prefix}_status_valid"),
        models.CheckConstraint(condition=~Q(maker=""), name=f"{prefix}_maker_recorded"),
        models.CheckConstraint(
            condition=Q(is_active=False) | Q(status=VersionStatus.PUBLISHED), name=f"{prefix}_active_is_published"
        ),
        models.CheckConstraint(
            condition=Q(approved_by__isnull=True) | Q(created_by__isnull=True) | ~Q(approved_by=F("created_by")),
            name=f"{prefix}_approver_not_proposer",
        ),
    ]
