"""The score scale, in one place: every score in the product is a whole number in
``MIN_SCORE``–``MAX_SCORE``.  No imports, so models, forms and serializers anywhere can
bound a score without loading the scorer."""

MIN_SCORE = 0
MAX_SCORE = 950
