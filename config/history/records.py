"""Who made a change: the history's user.

django-simple-history takes the user from the request (``HistoryRequestMiddleware``) when a
change is made in the admin.  A service also runs outside a request (Celery, a management
command) and is told who acts through its ``actor=`` argument: :func:`records_actor` puts that
actor where :class:`History` finds it, so a change through a service names the same person
whether it came from the admin, a task or the shell.

A change made by the system (the nightly run, a protective freeze) has no user: it names its
reason instead (``acting_as(None, reason=...)``).  A set-based write (``QuerySet.update()``)
sends no signal, so it records its versions itself with :func:`update_with_history`: one
``INSERT INTO <history> SELECT ... FROM`` the changed rows, in the write's transaction.

Tracking a model is one line on it::

    history = History()                      # or History(excluded_fields=[...])

then ``makemigrations``; its admin (a ``GuardedModelAdmin``) shows the history at once.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import connections, models, transaction
from django.db.models import Value
from django.utils import timezone
from simple_history.models import HistoricalRecords

_actor: contextvars.ContextVar = contextvars.ContextVar("history_actor", default=None)
_reason: contextvars.ContextVar = contextvars.ContextVar("history_reason", default=None)

REASON_MAX = 100  # simple_history's history_change_reason is a CharField(100)


def _as_user(actor):
    """The staff user behind ``actor``, or None (a partner, a system name, nobody)."""
    user_model = get_user_model()
    if isinstance(actor, user_model) and actor.pk is not None:
        return actor
    return None


@contextmanager
def acting_as(actor, *, reason: str | None = None):
    """Changes made inside the block are recorded as made by ``actor`` (a user; anything
    else records no user) and, when given, for ``reason`` (an enclosing block's reason is kept
    otherwise: a service called by an action's execution still names the action)."""
    token = _actor.set(_as_user(actor))
    reason_token = _reason.set(reason[:REASON_MAX]) if reason else None
    try:
        yield
    finally:
        _actor.reset(token)
        if reason_token is not None:
            _reason.reset(reason_token)


def _request_user():
    request = getattr(HistoricalRecords.context, "request", None)
    return _as_user(getattr(request, "user", None))


def _partner_reason() -> str | None:
    request = getattr(HistoricalRecords.context, "request", None)
    partner_id = getattr(getattr(request, "user", None), "partner_id", None)
    if partner_id is not None and _actor.get() is None:
        return f"partner API: partner #{partner_id}"
    return None


def update_with_history(queryset, *, reason: str | None = None, **changes) -> int:
    """``queryset.update(**changes)`` that keeps a version of every row it changed, set-based:
    the rows are locked and their ids read, updated in one statement, and copied into the
    history table in one ``INSERT ... SELECT`` — all in one transaction.  The version names
    the acting user (``acting_as``, else the request's user) and ``reason`` (else the
    enclosing ``acting_as`` reason).  Returns the number of rows changed."""
    model = queryset.model
    with transaction.atomic(using=queryset.db):
        ids = list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))
        if not ids:
            return 0
        changed = model._base_manager.using(queryset.db).filter(pk__in=ids).update(**changes)
        history_record_rows(model._base_manager.using(queryset.db).filter(pk__in=ids), reason=reason)
    return changed


def history_record_rows(queryset, *, reason: str | None = None, history_type: str = "~") -> int:
    """Copy the rows of ``queryset`` as they are now into their model's history, in one
    ``INSERT INTO <history> SELECT ... FROM <table>`` (the rows never pass through Python)."""
    model = queryset.model
    manager = getattr(model, model._meta.simple_history_manager_attribute)
    historical = manager.model
    tracked = list(historical.tracked_fields)
    user = _actor.get() or _request_user()
    reason = (reason or _reason.get() or _partner_reason() or "")[:REASON_MAX] or None
    rows = queryset.order_by().annotate(
        _h_date=Value(timezone.now(), output_field=models.DateTimeField()),
        _h_type=Value(history_type, output_field=models.CharField()),
        _h_user=Value(user.pk if user else None, output_field=models.BigIntegerField()),
        _h_reason=Value(reason, output_field=models.CharField()),
    ).values_list(*[f.attname for f in tracked], "_h_date", "_h_type", "_h_user", "_h_reason")
    select, params = rows.query.sql_with_params()
    hist = historical._meta
    columns = [hist.get_field(f.name).column for f in tracked] + [
        hist.get_field(name).column for name in ("history_date", "history_type", "history_user", "history_change_reason")
    ]
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    sql = f"INSERT INTO {quote(hist.db_table)} ({', '.join(quote(c) for c in columns)}) {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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
            reason = _reason.get() or _partner_reason()
        return reason
