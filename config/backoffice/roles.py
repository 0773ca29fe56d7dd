"""The roles of the back office, declared here and nowhere else.

A role is an auth Group holding exactly the permissions listed below ("app_label.codename").
``roles_sync`` makes the groups match this declaration: it runs in the data migration
``backoffice.0001_roles`` and after every ``migrate`` (a ``post_migrate`` receiver, see
``apps.py``), so a permission added later is granted by adding it here and migrating.

A name that matches no permission is reported by ``roles_sync`` (and fails
``tests/backoffice/test_roles.py``): a typo never silently leaves a role without a right.
``"*.view_*"`` stands for every view permission (the auditor's).
"""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext_lazy as _

from config.history.records import acting_as

log = logging.getLogger(__name__)

ROLES_SYNC_REASON = "roles_sync: the roles declared in config/backoffice/roles.py"

LOAN_OFFICER = "Loan officer"
RISK_MANAGER = "Risk manager"
COMMITTEE_MEMBER = "Credit committee member"
AUDITOR = "Auditor"
ADMINISTRATOR = "Administrator"

ROLE_LABELS = {
    LOAN_OFFICER: _("Loan officer"),
    RISK_MANAGER: _("Risk manager"),
    COMMITTEE_MEMBER: _("Credit committee member"),
    AUDITOR: _("Auditor"),
    ADMINISTRATOR: _("Administrator"),
}

# What everyone who works on credit reads.
_READ_BOOK = [
    "parties.view_company", "parties.view_person", "parties.view_relatedparty", "loans.view_loanproduct",
    "loans.view_loanapplication", "loans.view_applicationevent", "loans.view_decision", "loans.view_creditpolicy",
    "loans.view_creditline", "loans.view_loan", "loans.view_installment", "loans.view_repayment",
    "loans.view_collateral", "loans.view_guarantee", "loans.view_borrowergroupmember",
    "monitoring.view_alert", "monitoring.view_postloanaction", "monitoring.view_committeecase", "monitoring.view_committeevote",
    "scoring.view_score", "scoring.view_latestscore", "scoring.view_monthlyscoresummary",
]

ROLES: dict[str, list[str]] = {
    LOAN_OFFICER: [
        *_READ_BOOK,
        "parties.add_company", "parties.change_company", "parties.add_person", "parties.change_person",
        "parties.add_relatedparty", "parties.change_relatedparty",
        "loans.add_loanapplication", "loans.submit_application", "loans.accept_offer", "loans.book_application",
        "loans.withdraw_application",
        "loans.add_repayment", "loans.freeze_line",
        "loans.add_collateral", "loans.change_collateral", "loans.add_guarantee", "loans.change_guarantee",
        "monitoring.acknowledge_alert", "monitoring.resolve_alert", "monitoring.assign_alert",
        "monitoring.add_postloanaction", "monitoring.propose_action",
    ],
    RISK_MANAGER: [
        *_READ_BOOK,
        "loans.add_creditpolicy", "loans.publish_policy",
        "loans.freeze_line", "loans.unfreeze_line", "loans.reduce_line_limit", "loans.close_line",
        "monitoring.acknowledge_alert", "monitoring.resolve_alert", "monitoring.dismiss_alert", "monitoring.assign_alert",
        "monitoring.view_scoringrun", "monitoring.view_scoringchunk",
        "scoring.view_scoremodel", "scoring.promote_scorecard",
        "loans.view_ledgerentry",
        # Approving (never their own) and executing ordinary post-loan actions; the rules and the
        # policy that propose them.
        "monitoring.approve_action", "monitoring.execute_action",
        "monitoring.view_warningrule", "monitoring.publish_warning_rule",
        "monitoring.view_actionpolicy", "monitoring.add_actionpolicy", "monitoring.change_actionpolicy",
        "monitoring.view_actionpolicychange",
        # The book's health and the models' stability; promoting a challenger (maker-checker).
        "monitoring.view_portfoliosnapshot", "monitoring.view_portfoliosegment", "monitoring.export_portfolio_snapshot",
        "monitoring.view_modelmonitoring", "monitoring.view_modelpromotion",
        "monitoring.propose_model_promotion", "monitoring.approve_model_promotion",
    ],
    COMMITTEE_MEMBER: [
        *_READ_BOOK,
        "monitoring.vote",
    ],
    AUDITOR: ["*.view_*"],
    ADMINISTRATOR: [
        "auth.view_user", "auth.add_user", "auth.change_user",
        "auth.view_group", "auth.add_group", "auth.change_group", "auth.view_permission",
        "loans.view_loanproduct", "loans.add_loanproduct", "loans.change_loanproduct",
        "parties.view_partner", "parties.add_partner", "parties.change_partner",
        "partner_api.view_partnerapikey", "partner_api.add_partnerapikey", "partner_api.change_partnerapikey",
        "partner_api.view_webhookendpoint", "partner_api.add_webhookendpoint", "partner_api.change_webhookendpoint",
        "partner_api.view_webhookdelivery", "partner_api.resend_webhook",
        "otp_totp.view_totpdevice", "otp_totp.add_totpdevice", "otp_totp.change_totpdevice", "otp_totp.delete_totpdevice",
    ],
}


def _resolve(Permission, names: list[str]) -> tuple[list, list[str]]:
    """(permission rows, names that match none)."""
    from django.db.models import Q

    found, missing = [], []
    for name in names:
        app_label, _sep, codename = name.partition(".")
        if name == "*.view_*":
            found.extend(Permission.objects.filter(codename__startswith="view_"))
            continue
        rows = list(Permission.objects.filter(Q(content_type__app_label=app_label) & Q(codename=codename)))
        if rows:
            found.extend(rows)
        else:
            missing.append(name)
    return found, missing


def roles_sync(*, apps=None, roles: dict[str, list[str]] | None = None) -> list[str]:
    """Make each role's group hold exactly its declared permissions (groups not declared here
    are left alone).  Returns the declared names that match no permission."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    missing: list[str] = []
    # Run by migrate, not by a person: the roles' history names this declaration as the reason.
    with acting_as(None, reason=ROLES_SYNC_REASON):
        for role, names in (roles or ROLES).items():
            perms, unknown = _resolve(Permission, names)
            missing.extend(unknown)
            group, _created = Group.objects.get_or_create(name=role)
            group.permissions.set(perms)
    if missing:
        log.warning("roles declare permissions that do not exist: %s", ", ".join(sorted(set(missing))))
    return sorted(set(missing))


def create_all_permissions(*, verbosity: int = 0) -> None:
    """Every installed app's permissions, now (Django creates them only after migrate)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=verbosity)


def sync_after_migrate(sender, *, verbosity=1, **kwargs) -> None:
    """post_migrate receiver (for the last app migrated): permissions first, then the roles.

    Django sends post_migrate only for apps that have a models module, which this app has not:
    connected to this app alone, the receiver never ran and a permission added to a role after
    the first migrate was never granted.  It listens to every app and acts on the last one."""
    from django.apps import apps as global_apps

    if kwargs.get("plan") is None:
        # A flush (every transactional test's teardown), not a migrate: nothing was declared anew.
        return
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if with_models and sender is not with_models[-1]:
        return
    if not _fully_migrated(kwargs.get("using") or DEFAULT_DB_ALIAS):
        # A partial migrate (``migrate loans 0014``) leaves tables as they were at that point
        # (e.g. contenttypes' old name column): the current models cannot write to them.  The
        # roles follow at the migrate that completes the schema.
        return
    create_all_permissions(verbosity=0)
    missing = roles_sync()
    if missing and verbosity:
        print(f"  Roles: no such permission: {', '.join(missing)}")  # noqa: T201


def _fully_migrated(using: str) -> bool:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())
