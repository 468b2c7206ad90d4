from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from portal.accounts.identity import username_key


@deconstructible
class PortalUsernameValidator(UnicodeUsernameValidator):
    """Letters, digits and ``. + - _``. No ``@``: a username that looks like an email could be
    another person's login email, and logging in with an email must name that person."""

    regex = r"^[\w.+-]+\Z"
    message = "Use letters, digits and . + - _ only (no @: an email is not a username)."

    def __call__(self, value):
        super().__call__(value)
        if len(username_key(value)) > 255:
            raise ValidationError(self.message, code=self.code)
