"""Promoting a challenger to champion, maker-checker: one person proposes (with the night's
monitoring figures as evidence), another approves or rejects.  Approval promotes through
``scoring.services.score_model_promote`` (which retires the old champion) in the same
transaction as the decision."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.errors import DomainError, InvalidTransition, NotFound

from ..models import ModelMonitoring, ModelPromotion, PromotionStatus


def model_promotion_propose(*, model_id: int, actor, note: str = "") -> ModelPromotion:
    from scoring.models import ModelStatus, ScoreModel

    with transaction.atomic():
        model = ScoreModel.objects.select_for_update().filter(pk=model_id).first()
        if model is None:
            raise NotFound(_("Scorecard #%(id)s does not exist.") % {"id": model_id}, field="model_id")
        if model.status != ModelStatus.CHALLENGER:
            raise InvalidTransition(
                _("Only a challenger can be proposed for promotion; %(m)s is %(s)s.") % {"m": model, "s": model.status},
                field="model_id",
            )
        if ModelPromotion.objects.filter(model=model, status=PromotionStatus.PENDING).exists():
            raise InvalidTransition(_("%(m)s already has a pending promotion.") % {"m": model}, field="model_id")
        latest = ModelMonitoring.objects.filter(model=model).order_by("-as_of").first()
        evidence = {} if latest is None else {
            "as_of": latest.as_of.isoformat(), "psi": latest.psi, "auc": latest.auc, "ks": latest.ks,
            "gini": latest.gini, "shadow": latest.shadow,
        }
        return ModelPromotion.objects.create(model=model, proposed_by=actor, note=note[:500], evidence=evidence)


def model_promotion_decide(*, promotion_id: int, actor, approve: bool) -> ModelPromotion:
    from scoring import services as scoring_services
    from scoring.models import ModelStatus

    with transaction.atomic():
        promotion = ModelPromotion.objects.select_for_update().filter(pk=promotion_id).first()
        if promotion is None:
            raise NotFound(_("Promotion #%(id)s does not exist.") % {"id": promotion_id}, field="promotion_id")
        if promotion.status != PromotionStatus.PENDING:
            raise InvalidTransition(_("Promotion #%(id)s is already %(s)s.") % {"id": promotion.pk, "s": promotion.status})
        if promotion.proposed_by_id == actor.pk:
            raise DomainError(_("Whoever proposes a promotion may not decide it (maker-checker)."), field="actor",
                              code="maker_checker")
        if approve:
            model = promotion.model
            if model.status != ModelStatus.CHALLENGER:
                raise InvalidTransition(_("%(m)s is no longer a challenger.") % {"m": model})
            scoring_services.score_model_promote(model=model)
        promotion.status = PromotionStatus.APPROVED if approve else PromotionStatus.REJECTED
        promotion.decided_by = actor
        promotion.decided_at = timezone.now()
        promotion.save(update_fields=["status", "decided_by", "decided_at"])
    return promotion
