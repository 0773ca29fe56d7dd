"""Every admin action and view checks a specific permission.

Django's admin shows an action without ``allowed_permissions`` to anyone who can open the
list, and a view added in ``get_urls`` checks nothing beyond ``is_staff``.  The guard here
closes both holes for every admin that uses it:

* an action runs only if it names the permission it needs (``@admin.action(permissions=[...])``);
  one that names none is never offered and never runs (and ``manage.py check`` reports it,
  see ``backoffice.checks``);
* a model's custom permissions (``Meta.permissions``) can be named in ``allowed_permissions``
  directly: ``permissions=["freeze_line"]`` checks ``loans.freeze_line``;
* a custom view is mounted with :meth:`PermissionGuard.permission_view`, which names the
  permissions it needs;
* ``has_view/add/change/delete_permission`` stay Django's model-permission checks; an admin
  that overrides one may only narrow it.

Superusers hold every permission, so they keep every right.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from config.history.modeladmin import HistoryAdmin

from .listspeed import FastActionCheckboxMixin

MODEL_PERMISSIONS = ("view", "add", "change", "delete")


def action_permissions(func) -> tuple[str, ...]:
    """The permissions an action declares; empty when it declares none."""
    return tuple(getattr(func, "allowed_permissions", None) or ())


def declares_specific_permission(func) -> bool:
    """An action changes something, so seeing the list ("view") is never enough."""
    return any(p != "view" for p in action_permissions(func))


class PermissionGuard:
    """Mix into a ``ModelAdmin`` (before it): see the module's docstring."""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        # has_<codename>_permission for each custom permission of the model, so that an
        # action can name it in allowed_permissions like "change" or "delete".
        for codename, _label in model._meta.permissions:
            name = f"has_{codename}_permission"
            if not hasattr(self, name):
                setattr(self, name, partial(self.has_custom_permission, codename=codename))

    def has_custom_permission(self, request, obj=None, *, codename: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Fail closed: an action that names no permission is offered to nobody.
        return {name: action for name, action in actions.items() if declares_specific_permission(action[0])}

    def permission_view(self, view, *perms: str):
        """``admin_site.admin_view(view)`` that also demands each of ``perms``
        ("app_label.codename") and answers 403 otherwise."""
        if not perms or not all("." in p for p in perms):
            raise ValueError("permission_view needs permissions named 'app_label.codename'")

        def guarded(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.required_permissions = perms
        return self.admin_site.admin_view(update_wrapper(guarded, view))


class ReadableColumnsMixin:
    """List columns people can read: money, rates, PDs, Shanghai dates, scores with their
    tier, related objects and subjects by name with a link (``config.backoffice.columns``)."""

    def get_list_display(self, request):
        from . import columns

        keep = {*(self.list_display_links or ()), *(self.list_editable or ())}
        return columns.readable_list_display(self.model, super().get_list_display(request), keep=keep)

    def get_changelist_instance(self, request):
        from . import columns

        cl = super().get_changelist_instance(request)
        if columns.SUBJECT_COLUMN in cl.list_display:
            columns.attach_subject_names(cl.result_list)
        return cl

    def subject_column(self, obj):
        from . import columns

        return columns.subject_column(obj)

    subject_column.short_description = _("subject")
    subject_column.admin_order_field = "subject_id"


class ReadableDetailMixin:
    """A row's page shows its read-only values as the lists do: moments ``2026-12-02 20:50``
    in Asia/Shanghai, dates ``2026-12-02``, money ``¥100,000.00``, rates ``9.00%`` (not
    Django's "Dec. 2, 2026, 8:50 p.m.", "2026年3月2日", "100000.00", "0.090000").

    Django renders a read-only model field through its own formats; a read-only entry that is
    a display function is rendered as the function says.  So each such read-only field is
    swapped, on the row's page only, for the list's column function
    (``columns.readable_column``: same label, same formatting), and named read-only so the
    form leaves it out.  Editable fields stay form fields.

    An admin that answers its read-only fields itself (``get_readonly_fields`` per request:
    none on the add form, all on the row's page) keeps the swap: its method is wrapped to name
    the swapped functions read-only too (``__init_subclass__``)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("get_readonly_fields")
        if own is None or getattr(own, "_adds_readable_columns", False):
            return

        def get_readonly_fields(self, request, obj=None):
            names = list(own(self, request, obj))
            return [*names, *(m for m in map(self._readable_moment, names) if m is not None and m not in names)]

        get_readonly_fields._adds_readable_columns = True
        cls.get_readonly_fields = update_wrapper(get_readonly_fields, own)

    def _readable_moment(self, name):
        from . import columns

        if not isinstance(name, str):
            return None
        field = columns._field(self.model, name)
        # Moments, dates, money, rates and PDs as the lists show them; a related object Unfold
        # already names and links.
        if field is None or isinstance(field, models.ForeignKey):
            return None
        column = columns.readable_column(self.model, name)
        return None if column == name else column

    def get_readonly_fields(self, request, obj=None):
        names = list(super().get_readonly_fields(request, obj))
        moments = [m for m in map(self._readable_moment, names) if m is not None]
        return [*names, *moments]

    get_readonly_fields._adds_readable_columns = True

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        # Without the change permission Django shows every field read-only.
        everything = not self.has_change_permission(request, obj)
        # The names the admin answers (its own method included), not the swapped functions.
        readonly = {n for n in self.get_readonly_fields(request, obj) if isinstance(n, str)}
        seen = set()

        def swap(name):
            if isinstance(name, list | tuple):
                return type(name)(swap(n) for n in name)
            if everything or name in readonly:
                return self._readable_moment(name) or name
            return name

        result = []
        for title, options in fieldsets:
            fields = []
            for name in map(swap, options.get("fields", ())):
                if isinstance(name, list | tuple):
                    fields.append(name)
                elif name not in seen:  # the default fields list both the field and its swap
                    seen.add(name)
                    fields.append(name)
            result.append((title, {**options, "fields": fields}))
        return result


class ReadableInlineMixin(ReadableDetailMixin):
    """A read-only inline's rows on the parent's page read as the lists do: ``2026-12-02``,
    ``¥100,000.00``, ``9.00%`` (not "Dec. 2, 2026", "100000.00").  An inline builds its rows
    from its fieldsets and read-only fields just as a row's page does, so the detail swap
    applies to each row unchanged (``obj`` is the parent; every inline row is read-only when
    the inline may not change).  The swap reads the row's own fields: no query is added."""

    empty_value_display = "—"  # as the formatted columns show it (formatting.EMPTY)


class ExportCsvMixin:
    """The CSV export action on admins whose model declares ``export_csv`` (see ``export``);
    Django's and the guard's permission filters then apply to it as to any action."""

    def _get_base_actions(self):
        from . import export

        actions = list(super()._get_base_actions())
        if export.has_export(self.model) and all(name != "export_csv" for _f, name, _d in actions):
            actions.append((export.export_csv, "export_csv", export.export_csv.short_description))
        return actions


class GuardedModelAdmin(
    PermissionGuard,
    ExportCsvMixin,
    ReadableColumnsMixin,
    ReadableDetailMixin,
    FastActionCheckboxMixin,
    HistoryAdmin,
    UnfoldModelAdmin,
):
    """The base of every ModelAdmin in the back office, in the theme's look (django-unfold).  Its
    "History" view shows the change history of a model that has one (``config.history``),
    Django's action log otherwise.  Lists show 50 rows a page (a page of 100 in the theme took
    longer to render than its queries took to run).  An empty value reads "—" as in the
    formatted columns (not Django's "-")."""

    list_per_page = 50
    empty_value_display = "—"


class ReadOnlyModelAdmin(GuardedModelAdmin):
    """Records written by services or the nightly run: viewed with the view permission,
    never added, changed or deleted in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
