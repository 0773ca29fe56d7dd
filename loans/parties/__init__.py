"""Borrowers and partners: the companies, persons and related parties a partner (or the lender
itself) keeps on file, and the partners themselves.

A Django app of its own inside ``loans`` so that the scoring app can read borrowers without
knowing anything of loans (design notes: "scoring knows companies and persons but nothing of
loans").  It imports nothing of the rest of ``loans`` nor of ``scoring`` or ``monitoring``
(pyproject.toml's import-linter contracts); ``loans`` builds on it, never the reverse.
"""
