"""Plain functions that create what tests need; the fixtures in the ``conftest.py`` files call
them, and tests may too.

Each fills in only what its service requires and passes every keyword override on, so a suite
keeps its own values (another gateway, other keys, another username template) as arguments
instead of writing the creation again. They go through the portal's services, so encryption and
audit events are the real ones.
"""

import secrets
import uuid
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from portal.accounts import services as accounts
from portal.tokens.models import Grant, Issuance, Status, TokenFormat
from portal.vault import crypto
from portal.vault import services as vault
from portal.vault.models import Credential, Gateway

# The cast's login password (see tests/conftest.py).
PASSWORD = "correct horse battery staple 42"

# The example application and user of WSO2's Token API documentation.
CONSUMER_KEY = "wU62DjlyDBnq87GlBwplfqvmAbAa"
CONSUMER_SECRET = "ksdSdoefDDP7wpaElfqvmjDue"
ORG_KEY = "johnsorg"
UPSTREAM_USERNAME = "john@johns.org@johnsorg"
UPSTREAM_PASSWORD = "Johns0rgPassw0rd"

LOGIN_BACKEND = "portal.accounts.backends.UsernameOrEmailBackend"


# --- people ---------------------------------------------------------------------------------------


def user_create(username: str, **extra):
    """A user who logs in with :data:`PASSWORD`; email ``<name>@example.com``, API Store email
    ``<name>@<name>.org`` unless given."""
    return accounts.user_create(
        username=username,
        password=PASSWORD,
        email=f"{username}@example.com",
        api_store_email=extra.pop("api_store_email", f"{username}@{username}.org"),
        **extra,
    )


def admin_create():
    """A superuser, as an administrator of the portal would be."""
    return accounts.user_create(
        username="root",
        password="x-very-long-password-1",
        email="root@example.com",
        is_staff=True,
        is_superuser=True,
    )


def logged_in(user, client: Client | None = None) -> Client:
    """``client`` (a new test client if None) logged in as ``user``."""
    client = client or Client()
    client.force_login(user, backend=LOGIN_BACKEND)
    return client


# --- gateways and credentials ---------------------------------------------------------------------


def gateway_create(**overrides) -> Gateway:
    """A gateway tests never call (``https://gateway.test``) with API Cloud usernames
    (``{email}@{org_key}``); ``overrides`` go to ``vault.services.gateway_create``, which returns
    the existing gateway of that name unchanged."""
    values = {
        "name": "Test gateway",
        "token_url": "https://gateway.test/token",
        "revoke_url": "https://gateway.test/revoke",
        "username_template": "{email}@{org_key}",
    }
    values.update(overrides)
    gateway, _ = vault.gateway_create(**values)
    return gateway


def credential_create(*, team, actor, gateway: Gateway | None = None, **overrides) -> Credential:
    """A credential of ``team`` stored by ``actor``, with WSO2's example key and secret on
    ``gateway`` (:func:`gateway_create`'s if None). Everything else (org key, default scopes,
    grants) is the service's default unless overridden."""
    values = {
        "name": "Acme app",
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
    }
    values.update(overrides)
    return vault.credential_create(
        team=team, actor=actor, gateway=gateway or gateway_create(), **values
    )


# --- issuances ------------------------------------------------------------------------------------


def fake_token() -> str:
    return "fake-at-" + secrets.token_urlsafe(24)


def issuance_create(*, team, credential, issued_by, **overrides) -> Issuance:
    """An Issuance row written directly (no gateway call): by default an active password-grant
    token issued now, expiring in an hour, with a sealed fake access token so it can be revoked.

    Extra keywords: ``access_token`` / ``refresh_token`` (raw values, stored sealed only; the
    fingerprint and last 4 follow the access token unless overridden). Pass ``access_token=""``
    for a row without token material."""
    pk = overrides.pop("id", None) or uuid.uuid4()
    access_token = overrides.pop("access_token", None)
    if access_token is None:
        access_token = fake_token()
    refresh_token = overrides.pop("refresh_token", "")
    now = timezone.now()
    fields = {
        "team": team,
        "credential": credential,
        "issued_by": issued_by,
        "grant_type": Grant.PASSWORD,
        "upstream_username": "bob@bob.org",
        "requested_scopes": ["read"],
        "granted_scopes": ["read"],
        "token_type": "Bearer",
        "token_format": TokenFormat.OPAQUE,
        "issued_at": now,
        "expires_at": now + timedelta(hours=1),
        "status": Status.ACTIVE,
        "access_token_fingerprint": crypto.fingerprint(access_token) if access_token else "",
        "access_token_last4": access_token[-4:] if access_token else "",
        "has_refresh_token": bool(refresh_token),
    }
    fields.update(overrides)
    stub = Issuance(id=pk)
    if access_token and "access_token_encrypted" not in overrides:
        crypto.seal(stub, "access_token_encrypted", access_token)
        fields["access_token_encrypted"] = stub.access_token_encrypted
    if refresh_token and "refresh_token_encrypted" not in overrides:
        crypto.seal(stub, "refresh_token_encrypted", refresh_token)
        fields["refresh_token_encrypted"] = stub.refresh_token_encrypted
    return Issuance.objects.create(id=pk, **fields)
