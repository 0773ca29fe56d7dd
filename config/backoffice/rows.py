"""A list of small records (a credit policy's tier bands, its term spreads) edited as a table
of inputs rather than as JSON.

``RowsField(columns=[Column(...), ...], rows=N)`` renders N rows of inputs named
``<field>-<row>-<key>``; rows left empty are dropped; a rate column is typed as a percentage
(6.00 → "0.060000" stored).  A bad cell is an error naming the row and the column.  A form
posted the old way (the whole list as JSON under the field's own name) is still read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

INPUT_CLASSES = (
    "border border-base-200 bg-white font-medium px-3 py-2 rounded-default shadow-xs text-sm w-full "
    "text-font-default-light dark:bg-base-900 dark:border-base-700 dark:text-font-default-dark"
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | decimal | percent
    places: int = 6  # stored decimal places (percent and decimal)

    def show(self, value) -> str:
        if value in (None, ""):
            return ""
        if self.kind == "percent":
            return f"{(Decimal(str(value)) * 100).normalize():f}"
        return str(value)

    def parse(self, raw: str):
        raw = (raw or "").strip()
        if self.kind == "text":
            return raw
        if self.kind == "int":
            return int(raw)
        d = Decimal(raw)
        if not d.is_finite():
            raise InvalidOperation
        if self.kind == "percent":
            d = d / 100
        return f"{d.quantize(Decimal(1).scaleb(-self.places)):f}"


class PostedRows(list):
    """Cells as typed (shown back verbatim when the form has errors)."""


class RowsWidget(forms.Widget):
    def __init__(self, columns, rows, attrs=None):
        super().__init__(attrs)
        self.columns, self.rows = columns, rows

    def value_from_datadict(self, data, files, name):
        if name in data:  # the whole list as JSON (an API-style post)
            return data.get(name)
        rows = PostedRows()
        for i in range(self.rows + 20):
            cells = {c.key: data.get(f"{name}-{i}-{c.key}", "") for c in self.columns}
            if i >= self.rows and not any(f"{name}-{i}-{c.key}" in data for c in self.columns):
                break
            rows.append(cells)
        return rows

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}-0-{self.columns[0].key}" not in data

    def render(self, name, value, attrs=None, renderer=None):
        value = list(value or []) if not isinstance(value, str) else []
        count = max(self.rows, len(value) + 1)
        head = format_html_join(
            "", '<th class="px-2 py-1 text-left font-semibold">{}</th>',
            ((f"{c.label}{' (%)' if c.kind == 'percent' else ''}",) for c in self.columns),
        )
        body = []
        for i in range(count):
            row = value[i] if i < len(value) and isinstance(value[i], dict) else {}
            cells = format_html_join(
                "",
                '<td class="px-2 py-1"><input type="text" name="{}-{}-{}" value="{}" aria-label="{} {}" '
                'inputmode="{}" class="{}"></td>',
                (
                    (name, i, c.key, row.get(c.key, ""), c.label, i + 1,
                     "text" if c.kind == "text" else "decimal", INPUT_CLASSES)
                    for c in self.columns
                ),
            )
            body.append(format_html("<tr>{}</tr>", cells))
        return format_html(
            '<table class="bo-rows" id="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
            '<p class="text-xs text-font-subtle-light mt-1">{}</p>',
            (attrs or {}).get("id", name), head, format_html_join("", "{}", ((b,) for b in body)),
            _("Leave a row empty to remove it; save to add more rows."),
        )


class RowsField(forms.Field):
    def __init__(self, *, columns, rows=5, **kwargs):
        self.columns = columns
        kwargs.setdefault("widget", RowsWidget(columns, rows))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        """Stored rows (rates as fractions) → the cells to show (rates in percent)."""
        if isinstance(value, PostedRows):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        return [
            {c.key: c.show(row.get(c.key)) for c in self.columns}
            for row in (value or []) if isinstance(row, dict)
        ]

    def to_python(self, value):
        if value in (None, ""):
            return []
        if isinstance(value, str):  # JSON, as posted by API-style clients
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError(_("Enter the rows in the table."), code="invalid") from None
            if not isinstance(value, list):
                raise ValidationError(_("Enter the rows in the table."), code="invalid")
            value = [{k: ("" if v is None else str(v)) for k, v in row.items()} if isinstance(row, dict) else {} for row in value]
            raw_is_fraction = True
        else:
            raw_is_fraction = False
        out, errors = [], []
        for i, cells in enumerate(value, start=1):
            if not any(str(cells.get(c.key, "")).strip() for c in self.columns):
                continue
            row = {}
            for c in self.columns:
                raw = str(cells.get(c.key, "")).strip()
                if raw == "":
                    errors.append(ValidationError(_("Row %(row)s: %(column)s is missing."), params={"row": i, "column": c.label}))
                    continue
                try:
                    if raw_is_fraction and c.kind == "percent":
                        row[c.key] = Column(c.key, c.label, "decimal", c.places).parse(raw)
                    else:
                        row[c.key] = c.parse(raw)
                except (ValueError, InvalidOperation):
                    errors.append(ValidationError(_("Row %(row)s: %(column)s is not a number: “%(value)s”."),
                                                  params={"row": i, "column": c.label, "value": raw}))
            out.append(row)
        if errors:
            raise ValidationError(errors)
        return out

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


TIER_BAND_COLUMNS = [
    Column("tier", _("Tier"), "text"),
    Column("min_score", _("Minimum score"), "int"),
    Column("base_rate", _("Base rate"), "percent", 6),
    Column("multiplier", _("Limit multiplier"), "decimal", 2),
]
TERM_SPREAD_COLUMNS = [
    Column("max_months", _("Up to months"), "int"),
    Column("spread", _("Spread"), "percent", 6),
]
