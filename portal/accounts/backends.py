from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from portal.accounts import identity, session_store
from portal.core import fixed_sql


class UsernameOrEmailBackend(ModelBackend):
    """Log in with a username or login email, in any spelling that names the same account
    (``identity.user_resolve``)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = identity.user_resolve(username)
        if user is None:
            # Same work as a real check, so timing does not reveal which accounts exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The session's user, on every request: the row read with the session when it is this
        user's (``session_store``), else ModelBackend's lookup as fixed SQL (see
        ``core.fixed_sql``); inactive accounts are refused the same way."""
        user = session_store.user_read_with_session(user_id)
        if user is None:
            try:
                user = fixed_sql.by_pk(get_user_model(), user_id)
            except (TypeError, ValueError, ValidationError):
                return None
        return user if user is not None and self.user_can_authenticate(user) else None
