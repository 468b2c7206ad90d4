from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A portal account. ``api_store_email`` composes gateway usernames like john@johns.org@johnsorg."""

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
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username
