"""Database sessions whose rows cannot be replayed: ``SESSION_ENGINE`` for the portal.

Django's database backend stores the session key - the very value of the session cookie - in
``django_session``, so anyone reading a database dump could log in as anyone with a live
session. This store keeps the same behaviour (same table layout otherwise, ``clearsessions``,
expiry) but stores and looks up ``HMAC-SHA256(key derived from SECRET_KEY, session key)``.
Rotating SECRET_KEY therefore ends every session, as it already does for their signatures.
"""

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.core import context, fixed_sql

_SALT = "portal.accounts.session_store.key"


def stored_key(session_key: str) -> str:
    """What the database holds for a session key: a keyed hash, useless as a cookie."""
    return salted_hmac(_SALT, session_key, algorithm="sha256").hexdigest()


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls):
        from portal.accounts.models import Session

        return Session

    def _get_session_from_db(self):
        # Every request reads its session: fixed SQL (see ``core.fixed_sql``).
        sql = f"SELECT {fixed_sql.columns(self.model)} FROM {fixed_sql.table(self.model)} "  # noqa: S608
        try:
            found = fixed_sql.row(
                f"{sql} WHERE session_key = %s AND expire_date > %s",
                [stored_key(self.session_key), fixed_sql.db_time(timezone.now())],
            )
        except SuspiciousOperation:
            found = None
        session = None if found is None else fixed_sql.instance(self.model, found)
        if session is None:
            self._session_key = None
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
