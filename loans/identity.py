"""Moved to :mod:`loans.parties.identity`, beside the borrower files it validates.

``from loans import identity`` keeps working (code written before the move, and the historical
migration 0007): this name is the same module object, not a copy.
"""

import sys

from loans.parties import identity as _identity

sys.modules[__name__] = _identity
