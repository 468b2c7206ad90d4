from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from portal.accounts.identity import username_key
from portal.accounts.validators import PortalUsernameValidator


class User(AbstractUser):
    """A portal account. ``api_store_email`` composes gateway usernames like john@johns.org@johnsorg."""

    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="Letters, digits and . + - _ only.",
        validators=[PortalUsernameValidator()],
        error_messages={"unique": "This username is taken."},
    )
    # The username as every spelling of it compares (identity.username_key). Unique, so "Alice",
    # "ALICE" and full-width "ａｌｉｃｅ" are one account. NULL (several allowed, unlike "") only
    # for accounts that collided with an older one when the rule was introduced.
    username_key = models.CharField(  # noqa: DJ001
        max_length=255,
        unique=True,
        null=True,
        editable=False,
        error_messages={"unique": "This username is taken."},
    )
    display_name = models.CharField(max_length=150, blank=True)
    api_store_email = models.EmailField(
        "API Store email",
        blank=True,
        help_text="The email you sign in to the API Store with; used to build gateway usernames.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_unique_ci",
                violation_error_message="Another account already uses this email.",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    def clean(self):
        super().clean()  # NFKC-normalises the username
        self.username_key = username_key(self.username)

    def validate_unique(self, exclude=None):
        try:
            super().validate_unique(exclude=exclude)
        except ValidationError as exc:
            # The key is not a form field: report its collision on the username.
            errors = exc.update_error_dict({})
            if "username_key" in errors:
                errors.setdefault("username", []).extend(errors.pop("username_key"))
            raise ValidationError(errors) from exc

    def save(self, *args, **kwargs):
        # Not business logic: the key is a derived column that must follow the username on every
        # path that writes one (services, the admin, createsuperuser), or uniqueness would lapse.
        self.username_key = username_key(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)


class Session(AbstractBaseSession):
    """A login session as the database keeps it (``SESSION_ENGINE`` =
    ``portal.accounts.session_store``).

    ``session_key`` holds a keyed hash (HMAC-SHA256, key derived from SECRET_KEY) of the key the
    browser's cookie carries, never the key itself: a copy of this table logs no one in. The
    other columns serve the "Your sessions" page without decoding every session.
    """

    session_key = models.CharField("session key hash", max_length=64, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sessions",
    )
    last_seen = models.DateTimeField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta(AbstractBaseSession.Meta):
        indexes = [models.Index(fields=["user", "expire_date"], name="accounts_session_user")]

    @classmethod
    def get_session_store_class(cls):
        from portal.accounts.session_store import SessionStore

        return SessionStore
