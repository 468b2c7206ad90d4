"""Database sessions whose rows cannot be replayed: ``SESSION_ENGINE`` for the portal.

Django's database backend stores the session key - the very value of the session cookie - in
``django_session``, so anyone reading a database dump could log in as anyone with a live
session. This store keeps the same behaviour (same table layout otherwise, ``clearsessions``,
expiry) but stores and looks up ``HMAC-SHA256(key derived from SECRET_KEY, session key)``.
Rotating SECRET_KEY therefore ends every session, as it already does for their signatures.
"""

import functools
from contextvars import ContextVar

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.core import context, fixed_sql

_SALT = "portal.accounts.session_store.key"


def stored_key(session_key: str) -> str:
    """What the database holds for a session key: a keyed hash, useless as a cookie."""
    return salted_hmac(_SALT, session_key, algorithm="sha256").hexdigest()


# The user row read with the request's session (one query for both), for the authentication
# backend's ``get_user`` a moment later in the same request. Set by every session read - to
# None when there is no row or no user - so nothing of an earlier request is ever found here.
_user_read_with_session: ContextVar = ContextVar("user_read_with_session", default=None)


def user_read_with_session(user_id):
    """The user row read with this request's session if it is ``user_id``'s, else None; found
    once. The session row's user column only joins that row in: who is logged in stays the
    session data's word (``user_id``), so a row naming another account yields nothing here."""
    user = _user_read_with_session.get()
    if user is None:
        return None
    _user_read_with_session.set(None)
    return user if user.pk == user_id else None


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls):
        from portal.accounts.models import Session

        return Session

    _user_read_with_session = None

    def _get_session_from_db(self):
        # Every request reads its session and then its user: fixed SQL (see ``core.fixed_sql``),
        # both in one query.
        _user_read_with_session.set(None)
        user_model = get_user_model()
        try:
            found = fixed_sql.row(
                _session_with_user_sql(self.model, user_model),
                [stored_key(self.session_key), fixed_sql.db_time(timezone.now())],
            )
        except SuspiciousOperation:
            found = None
        if found is None:
            self._session_key = None
            return None
        width = fixed_sql.width(self.model)
        session = fixed_sql.instance(self.model, found[:width])
        user_values = found[width:]
        if user_values[user_model._meta.concrete_fields.index(user_model._meta.pk)] is not None:
            self._user_read_with_session = fixed_sql.instance(user_model, user_values)
            _user_read_with_session.set(self._user_read_with_session)
        return session

    async def _aget_session_from_db(self):
        return await sync_to_async(self._get_session_from_db)()

    def exists(self, session_key):
        return self.model.objects.filter(session_key=stored_key(session_key)).exists()

    async def aexists(self, session_key):
        return await sync_to_async(self.exists)(session_key)

    def create_model_instance(self, data):
        asking = context.current()
        user_id = data.get(SESSION_KEY)
        return self.model(
            session_key=stored_key(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
            user_id=int(user_id) if user_id is not None else None,
            last_seen=timezone.now(),
            ip=asking.ip,
            user_agent=asking.user_agent[:255],
        )

    async def acreate_model_instance(self, data):
        return await sync_to_async(self.create_model_instance)(data)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=stored_key(session_key)).delete()

    async def adelete(self, session_key=None):
        await sync_to_async(self.delete)(session_key)


@functools.cache
def _session_with_user_sql(session_model, user_model) -> str:
    """A live session row by stored key, with its user's row beside it (NULLs without one)."""
    session = fixed_sql.table(session_model)
    user = fixed_sql.table(user_model)
    user_column = fixed_sql.column(session_model, "user")
    user_key = fixed_sql.column(user_model, user_model._meta.pk.name)
    return (
        f"SELECT {fixed_sql.columns(session_model, 's')}, {fixed_sql.columns(user_model, 'u')} "  # noqa: S608
        f"FROM {session} s LEFT JOIN {user} u ON u.{user_key} = s.{user_column} "
        "WHERE s.session_key = %s AND s.expire_date > %s"
    )
