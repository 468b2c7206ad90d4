import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ISSUER = "issuer", "Issuer"
    VIEWER = "viewer", "Viewer"


# Higher rank includes everything a lower rank may do.
ROLE_RANK = {Role.VIEWER: 1, Role.ISSUER: 2, Role.OWNER: 3}


class Team(models.Model):
    """A group sharing credentials. Every user owns exactly one personal team."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=80)
    personal_owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_team",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Owners may require two-factor authentication of every member before they use the team.
    require_2fa = models.BooleanField("require two-factor authentication", default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # Shared team names are unique regardless of case; personal teams are named after
            # their owner and may coincide with nothing else.
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(personal_owner__isnull=True),
                name="teams_shared_team_name_unique_ci",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_personal(self) -> bool:
        return self.personal_owner_id is not None


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="teams_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    def allows(self, need: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(need)]
