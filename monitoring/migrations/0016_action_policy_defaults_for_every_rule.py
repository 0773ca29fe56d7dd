"""Default action-policy rows for the warnings the book actually raises.

The starting policy (0006) mapped only ``score_drop``, so a night that raised tier downgrades,
red flags or related-party warnings proposed nothing.  These rows are what a risk manager
would expect to start from; each stays editable through Monitoring › Action policy
(maker-checker).  A row is added only where no row exists for its (rule, severity): a policy
already edited keeps its edits.  ``below_minimum`` gets no row: the system freezes the line at
once (``monitoring.protection``), a second freeze cannot be proposed.

Left to the lender, on purpose (no default row): ``company_red_flags`` and ``dpd_over``.  Both
are raised for many borrowers at once (on the 100,000-company benchmark book a first night
raised 5,612 red flags and 3,564 loans past 90 days): a limit cut for every red flag took 5.1 s
of proposals and a restructure for every such loan, each opening a committee case, 15-19 s, so
at 1,000,000 companies the night's rules and proposals would no longer fit in a fifth of the
night; and a loan past 90 days belongs to the workout team before the committee.  A lender who
wants them adds the rows through Monitoring › Action policy (maker-checker); proposals answer a
line's and a loan's warnings on that line or loan.

Reversing removes only the rows this migration added that still carry its terms and that no
policy change refers to.
"""

from django.db import migrations

DEFAULT_POLICIES = [
    # rule, severity, action, terms
    ("tier_downgrade", "medium", "require_collateral", {"percent_of_drawn": 20, "due_in_days": 30}),
    ("related_party_deterioration", "high", "add_guarantee", {"percent_of_drawn": 50, "due_in_days": 30}),
    ("guarantor_deterioration", "medium", "add_guarantee", {"percent_of_drawn": 50, "due_in_days": 30}),
    ("collateral_coverage", "high", "require_collateral", {"percent_of_drawn": 20, "due_in_days": 30}),
]


def add_defaults(apps, schema_editor):
    ActionPolicy = apps.get_model("monitoring", "ActionPolicy")
    have = set(ActionPolicy.objects.values_list("rule", "severity"))
    ActionPolicy.objects.bulk_create([
        ActionPolicy(rule=rule, severity=severity, action_kind=kind, params=params)
        for rule, severity, kind, params in DEFAULT_POLICIES if (rule, severity) not in have
    ])


def remove_defaults(apps, schema_editor):
    ActionPolicy = apps.get_model("monitoring", "ActionPolicy")
    for rule, severity, kind, params in DEFAULT_POLICIES:
        row = ActionPolicy.objects.filter(rule=rule, severity=severity, action_kind=kind, changes__isnull=True).first()
        if row is not None and row.params == params:
            row.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0015_borrowers_in_parties"),
    ]

    operations = [
        migrations.RunPython(add_defaults, remove_defaults),
    ]
