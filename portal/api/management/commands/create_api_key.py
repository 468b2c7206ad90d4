"""Create an API key for a user in a team; the key alone on the last line of the output.

    manage.py create_api_key --user alice --team Acme --role issuer --expires-in-days 30 \\
        [--name "CI deploy"] [--credential "Acme production" ...]

    KEY=$(manage.py create_api_key --user alice --team Acme --role issuer | tail -n 1)
"""

import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.api import services
from portal.api.models import KeyRole
from portal.teams.models import Team
from portal.vault.models import Credential


class Command(BaseCommand):
    help = "Create an API key (shown once, on the last line) for a user in one of their teams."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username or email")
        parser.add_argument("--team", required=True, help="team name or id")
        parser.add_argument("--role", required=True, choices=KeyRole.values)
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=services.DEFAULT_LIFETIME_DAYS,
            help=f"1 to {services.MAX_LIFETIME_DAYS} (default {services.DEFAULT_LIFETIME_DAYS})",
        )
        parser.add_argument("--name", default="", help="default: 'created by manage.py on <date>'")
        parser.add_argument(
            "--credential",
            action="append",
            default=[],
            metavar="NAME",
            help="restrict the key to this credential of the team (repeatable)",
        )

    def handle(self, *args, **options):
        User = get_user_model()
        ident = options["user"]
        user = (
            User.objects.filter(username=ident).first()
            or User.objects.filter(email__iexact=ident).first()
        )
        if user is None:
            raise CommandError(f"No user {ident!r}.")
        team = self._team(options["team"], user)
        credentials = []
        for name in options["credential"]:
            credential = Credential.objects.filter(
                team=team, name__iexact=name, archived_at__isnull=True
            ).first()
            if credential is None:
                raise CommandError(f"{team.name} has no active credential {name!r}.")
            credentials.append(credential)
        name = options["name"] or f"created by manage.py on {timezone.localdate():%Y-%m-%d}"
        try:
            key, secret = services.api_key_create(
                actor=user,
                team=team,
                name=name,
                role=options["role"],
                expires_in_days=options["expires_in_days"],
                credentials=credentials,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        restriction = (
            "all credentials"
            if key.all_credentials
            else "credentials: " + ", ".join(c.name for c in credentials)
        )
        self.stdout.write(
            f"API key “{key.name}” ({key.pk}) for {user.get_username()} in {team.name}: "
            f"{key.role}, {restriction}, expires {key.expires_at:%Y-%m-%d %H:%M} UTC. "
            "It is shown once, now:"
        )
        self.stdout.write(secret)

    @staticmethod
    def _team(ident: str, user) -> Team:
        try:
            team = Team.objects.filter(pk=uuid.UUID(ident)).first()
        except ValueError:
            teams = list(Team.objects.filter(name__iexact=ident, memberships__user=user)[:2])
            if len(teams) > 1:
                raise CommandError(f"{ident!r} names several teams; give the team id.") from None
            team = teams[0] if teams else None
        if team is None:
            raise CommandError(f"{user.get_username()} is in no team {ident!r}.")
        return team
