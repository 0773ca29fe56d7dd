"""The partner REST API (``/api/v1/``): keys, isolation, idempotency, webhooks, OpenAPI.

Views validate, call one service and serialize; every error leaves through
:mod:`loans.api.exceptions` in one JSON shape.
"""
