"""The score scale, in one place: every score in the product is a whole number in
``MIN_SCORE``–``MAX_SCORE``, and a score's tier letter comes from one table.  No imports,
so models, forms, serializers and the screens can bound or tier a score without loading
the scorer."""

MIN_SCORE = 0
MAX_SCORE = 950
# The lowest score the lender lends at by default: the default credit policy's minimum and
# the floor of tier D.  A subject in default is capped just below it (scoring.composite).
LENDING_MIN_SCORE = 600
# Score tiers, best first: (letter, lowest score).  Scorecards carry their own copy (trained
# ones too); this is the default and the one the screens use.
DEFAULT_TIERS: tuple[tuple[str, int], ...] = (
    ("A", 750), ("B", 700), ("C", 650), ("D", LENDING_MIN_SCORE), ("E", MIN_SCORE),
)


def tier_for(score: int, tiers=DEFAULT_TIERS) -> str:
    """The tier letter of a score: the best tier whose floor it reaches (the lowest tier when
    it reaches none)."""
    for label, floor in sorted(tiers, key=lambda t: -t[1]):
        if score >= floor:
            return label
    return sorted(tiers, key=lambda t: t[1])[0][0]
