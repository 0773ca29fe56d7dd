"""Admin registrations of the loans app, one module per area."""

from . import borrowers  # noqa: F401
from . import lending  # noqa: F401
from . import privacy  # noqa: F401
