"""A score model's page: stability, power, calibration, and champion beside challengers with
the promotion moves (maker-checker through ``monitoring.analytics.promotion``).

Mounted in ``pages.urls()`` with the score model admin's ``permission_view``: reading needs
the view permissions of score models and of model monitoring; each move its own permission
on top (propose, approve).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from loans.errors import DomainError
from monitoring.analytics import promotion
from monitoring.analytics.model_page import model_page
from scoring.models import ModelStatus, ScoreModel

VIEW_PERMISSIONS = ("scoring.view_scoremodel", "monitoring.view_modelmonitoring")
PROPOSE = "monitoring.propose_model_promotion"
APPROVE = "monitoring.approve_model_promotion"


def model_view(request, pk: int):
    if request.method == "POST":
        return _move(request, pk)
    try:
        data = model_page(pk)
    except ScoreModel.DoesNotExist:
        raise Http404 from None
    user = request.user
    for column in data["columns"]:
        pending = column["pending"]
        column["may_propose"] = column["is_challenger"] and pending is None and user.has_perm(PROPOSE)
        column["may_decide"] = pending is not None and pending.proposed_by_id != user.pk and user.has_perm(APPROVE)
    model = data["model"]
    title = _("%(kind)s scorecard v%(v)s — monitoring") % {"kind": model.get_subject_kind_display(), "v": model.version}
    return TemplateResponse(request, "backoffice/model.html", {
        **admin.site.each_context(request), "title": title, "page": data, "opts": ScoreModel._meta,
        "model_charts": data["charts"],
    })


def models_view(request):
    """The sidebar's entry: the company champion's page (else the first model monitored)."""
    model = (
        ScoreModel.objects.filter(status=ModelStatus.CHAMPION).order_by("subject_kind").values_list("pk", flat=True).first()
        or ScoreModel.objects.order_by("-pk").values_list("pk", flat=True).first()
    )
    if model is None:
        return redirect("admin:scoring_scoremodel_changelist")
    return redirect("backoffice:model", pk=model)


def _move(request, pk: int):
    move = request.POST.get("move", "")
    here = reverse("backoffice:model", args=[pk])
    try:
        if move == "propose":
            if not request.user.has_perm(PROPOSE):
                raise PermissionDenied
            target = _int(request.POST.get("model"))
            done = promotion.model_promotion_propose(model_id=target, actor=request.user, note=request.POST.get("note", ""))
            messages.success(request, _("Proposed: %(p)s") % {"p": done})
        elif move in ("approve", "reject"):
            if not request.user.has_perm(APPROVE):
                raise PermissionDenied
            done = promotion.model_promotion_decide(
                promotion_id=_int(request.POST.get("promotion")), actor=request.user, approve=move == "approve"
            )
            messages.success(request, str(done))
        else:
            messages.error(request, _("Unknown move: %(m)s") % {"m": move or "—"})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(here)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("Pick a model or a promotion: %(v)r is not one.") % {"v": value}, field="model") from None
