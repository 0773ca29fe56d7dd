from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

# Ids are PostgreSQL bigints: a position outside them cannot come from a cursor we issued.
_MAX_ID = 2**63 - 1


class IdCursorPagination(CursorPagination):
    """Stable under inserts: newest first, by id.

    A cursor is ours to read, but the partner can send anything: one that does not decode, or
    whose position is not an id, is a 400 naming ``cursor`` (DRF would answer 404 for the first
    and pass the second to the database, where it was a 500).  Likewise a ``page_size`` that is
    not a whole number from 1 to 200 is a 400 naming it, as the schema declares (DRF would
    quietly use the default or cap it)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    page_size_query_description = "Results per page, 1–200 (default 50)."

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [f"Must be a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or cursor.position is None or _is_id(cursor.position)
        if not valid:
            raise ValidationError({self.cursor_query_param: ["Not a cursor from this list; follow the next/previous links."]})
        return cursor


def _is_id(position: str) -> bool:
    return position.isascii() and position.isdigit() and len(position) <= 19 and 0 < int(position) <= _MAX_ID
