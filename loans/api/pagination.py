from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Stable under inserts: newest first, by id."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
