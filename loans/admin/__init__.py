"""Admin registrations of the loans app, one module per area."""

from . import (
    borrowers,  # noqa: F401
    lending,  # noqa: F401
    privacy,  # noqa: F401
)
