"""Rendering a changelist's rows in the theme without per-row waste.

django-unfold 0.91 renders each row's cells through ``items_for_result``, which recomputes
every column header (labels, sort links: ``result_headers``) for each row, to label the cells
on narrow screens: a 50-row list of 10 columns built 500 header sets where one serves.  And
each row's action checkbox is a template-rendered widget.  Both are the same for every row:

* :func:`install` makes ``result_headers`` compute once per changelist (kept on the
  changelist object, which lives for one request);
* :class:`FastActionCheckboxMixin` renders the checkbox once per language and puts each row's
  primary key in it.

The output is the same HTML (tests/backoffice/test_list_speed.py compares it).
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from unfold import admin as unfold_admin
from unfold.templatetags import unfold_list

_PK = "__bo_row_pk__"
_checkboxes: dict[str | None, str] = {}


def _cached_result_headers(original):
    def result_headers(cl):
        headers = getattr(cl, "_bo_result_headers", None)
        if headers is None:
            headers = list(original(cl))
            for header in headers:
                # a lazy label is translated again each time it is cast: once per cell otherwise
                if isinstance(header.get("text"), Promise):
                    header["text"] = str(header["text"])
            cl._bo_result_headers = headers
        return iter(headers)

    result_headers.bo_cached = True
    return result_headers


def install() -> None:
    if not getattr(unfold_list.result_headers, "bo_cached", False):
        unfold_list.result_headers = _cached_result_headers(unfold_list.result_headers)


def action_checkbox_html(pk) -> str:
    language = get_language()
    template = _checkboxes.get(language)
    if template is None:
        template = _checkboxes[language] = str(unfold_admin.checkbox.render(helpers.ACTION_CHECKBOX_NAME, _PK))
    return mark_safe(template.replace(_PK, escape(str(pk))))


class FastActionCheckboxMixin:
    # The theme's row template asks ``cl.model_admin.list_sections`` twice a row; an admin
    # without the attribute makes Django's template engine call dir() on the whole ModelAdmin
    # each time (its check for a failing property): 100 dir() calls a page.  None is declared.
    list_sections: list = []

    def action_checkbox(self, obj):
        return action_checkbox_html(obj.pk)

    # the header's "select all" box, as the theme declares it
    action_checkbox.short_description = unfold_admin.ModelAdmin.action_checkbox.short_description
