"""Domain errors of the scoring app."""


class ScoringUnavailable(Exception):
    """No champion model, or no credit data for the subject; the message says which."""
