"""Domain errors.  Services raise these; the admin shows them as messages and the
API turns them into its one JSON error shape (see the API's exception handler).

Input problems that belong to a field are raised as Django's ``ValidationError``
with a ``{field: message}`` dict, so forms, services and the API name the same field.
"""


class DomainError(Exception):
    """A request that is well-formed but not allowed in the current state."""

    code = "domain_error"
    http_status = 409

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidTransition(DomainError):
    code = "invalid_transition"
