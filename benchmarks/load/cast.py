"""The portal's environment for a run, and its data: N users in one team (the first owns it,
the others issue) with one credential on a gateway pointing at the stub."""

from __future__ import annotations

import base64
import os
import warnings
from pathlib import Path

from benchmarks import fill
from benchmarks.load import (
    ROOT,
    TOKEN_CONNECT_TIMEOUT,
    TOKEN_TIMEOUT,
    USER_PASSWORD,
    stub_gateway,
)


def portal_env(args, database_url: str, workdir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "GUNICORN_", "DJANGO_"))
        # The harness makes its own database and connects as its superuser: a two-role run's
        # owner URL (CI exports one) names another database.
        and k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(
        {
            "PORTAL_ENV_FILE": "",  # never read .env: it names the development database
            "DEBUG": "False",
            "SECRET_KEY": "load-" + base64.b64encode(os.urandom(40)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "PORTAL_AUDIT_KEY": base64.b64encode(os.urandom(48)).decode(),
            "DATABASE_URL": database_url,
            "PORTAL_SSL_REDIRECT": "False",
            "PORTAL_ALLOW_HTTP_GATEWAYS": "True",
            "PORTAL_SANDBOX": "False",
            "PORTAL_TOKEN_TIMEOUT": str(TOKEN_TIMEOUT),
            "PORTAL_TOKEN_CONNECT_TIMEOUT": str(TOKEN_CONNECT_TIMEOUT),
            "PORTAL_RATE_LIMIT_PER_USER": "0",
            "PORTAL_RATE_LIMIT_PER_TEAM": "0",
            # Measuring the cost of an issuance, every request may call the gateway: the
            # per-gateway limit (6 calls a process) would refuse some as "busy" at 16 users.
            **(
                {"PORTAL_GATEWAY_MAX_CONCURRENT": "1000"}
                if getattr(args, "mix", None) == "generate"
                else {}
            ),
            "LOG_LEVEL": args.log_level,
            # portal.settings with STATIC_ROOT in the work directory (collectstatic runs there).
            "DJANGO_SETTINGS_MODULE": "benchmarks.load.settings",
            "PORTAL_LOAD_STATIC_ROOT": str(workdir / "static"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def prepare(env: dict, *, users: int, stub) -> str:
    """Migrate, collect static files, create the cast; returns the credential's id."""
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.update(env)
    os.environ.pop("DATABASE_OWNER_URL", None)  # the harness's database is its own (see above)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return team_create(name="Load team", usernames=[f"user{n}" for n in range(users)], stub=stub)


def team_create(*, name: str, usernames: list[str], stub) -> str:
    """Users who log in with USER_PASSWORD, in a team of their own (the first owns it, the
    others issue) with one credential on the stub; returns the credential's id."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connections

    from portal.accounts import services as accounts
    from portal.teams import services as teams
    from portal.teams.models import Role

    people = [
        accounts.user_create(username=username, password=None, email=f"{username}@example.com")
        for username in usernames
    ]
    # One Argon2 hash for all: hashing N passwords here would only slow the set-up down.
    get_user_model().objects.filter(pk__in=[u.pk for u in people]).update(
        password=make_password(USER_PASSWORD)
    )
    team = teams.team_create(name=name, owner=people[0])
    for person in people[1:]:
        teams.member_add(team=team, user=person, role=Role.ISSUER, actor=people[0])
    credential = fill.credential_create(
        team=team,
        actor=people[0],
        base_url=stub.base,
        gateway_name="Stub gateway",
        name=f"{name} credential",
        consumer_key=stub_gateway.CONSUMER_KEY,
        consumer_secret=stub_gateway.CONSUMER_SECRET,
        allow_client_credentials=True,
        actor_label="load test",
    )
    connections.close_all()  # the database may restart mid-run
    return str(credential.pk)
