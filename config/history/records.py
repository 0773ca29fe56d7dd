"""Who made a change: the history's user.

django-simple-history takes the user from the request (``HistoryRequestMiddleware``) when a
change is made in the admin.  A service also runs outside a request (Celery, a management
command) and is told who acts through its ``actor=`` argument: :func:`records_actor` puts that
actor where :class:`History` finds it, so a change through a service names the same person
whether it came from the admin, a task or the shell.

Tracking a model is one line on it::

    history = History()                      # or History(excluded_fields=[...])

then ``makemigrations``; its admin (a ``GuardedModelAdmin``) shows the history at once.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from simple_history.models import HistoricalRecords

_actor: contextvars.ContextVar = contextvars.ContextVar("history_actor", default=None)


def _as_user(actor):
    """The staff user behind ``actor``, or None (a partner, a system name, nobody)."""
    user_model = get_user_model()
    if isinstance(actor, user_model) and actor.pk is not None:
        return actor
    return None


@contextmanager
def acting_as(actor):
    """Changes made inside the block are recorded as made by ``actor`` (a user; anything
    else records no user)."""
    token = _actor.set(_as_user(actor))
    try:
        yield
    finally:
        _actor.reset(token)


def records_actor(service):
    """Decorate a service taking ``actor=``: the history of what it saves names the actor."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        actor = kwargs.get("actor")
        if _as_user(actor) is None:
            return service(*args, **kwargs)
        with acting_as(actor):
            return service(*args, **kwargs)

    return wrapper


class History(HistoricalRecords):
    """HistoricalRecords whose user is, in order: one set on the instance
    (``instance._history_user``), the actor of the running service, the request's user."""

    def get_history_user(self, instance):
        explicit = getattr(instance, "_history_user", None)
        if explicit is not None:
            return explicit
        actor = _actor.get()
        if actor is not None:
            return actor
        # The partner API's request.user is a partner, not a user: no user then (the partner is
        # named in the change reason instead).
        return _as_user(super().get_history_user(instance))

    def create_historical_record(self, instance, history_type, using=None):
        # A service that locked a row with .only(...) would otherwise load each deferred field
        # with a query of its own when the version is copied: one query loads them all.
        deferred = instance.get_deferred_fields() & {f.attname for f in self.fields_included(instance)}
        if deferred and history_type != "-":
            instance.refresh_from_db(fields=sorted(deferred))
        return super().create_historical_record(instance, history_type, using=using)

    def get_change_reason_for_object(self, instance, history_type, using):
        reason = super().get_change_reason_for_object(instance, history_type, using)
        if reason is None:
            partner_id = getattr(getattr(getattr(self.context, "request", None), "user", None), "partner_id", None)
            if partner_id is not None and _actor.get() is None:
                reason = f"partner API: partner #{partner_id}"
        return reason
