"""Where a token's renewal and revocation may go: only to the gateway (and URLs) it came from.

A credential's key and secret belong to the gateway they were entered for, and a token's refresh
token to the gateway that issued it. Sending either elsewhere — because the credential was moved
to another gateway, or an administrator pointed the gateway's URLs at a new address — could hand
them to whoever runs that address. So an issuance records its gateway and URLs, and:

- renewal is refused when the credential now uses another gateway or the token URL changed;
- revocation is refused when the credential uses another gateway (its secrets are no longer
  the ones this gateway knows), and otherwise goes to the *recorded* revocation URL;
- nothing at all is sent to a plain-HTTP URL while HTTP gateways are not allowed.
"""

from dataclasses import dataclass, replace

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from portal.gateway import client
from portal.tokens.models import Issuance
from portal.tokens.services.common import TOKEN_UNREADABLE_MESSAGE
from portal.vault import crypto
from portal.vault import services as vault

MOVED_MESSAGE = (
    "This token's credential now uses another gateway, and its secrets are never sent to the old "
    "one. Generate a new token; this one ends when it expires."
)
PLAIN_HTTP_MESSAGE = (
    "This gateway's URL is plain HTTP, which is not allowed here: nothing was sent. Ask an "
    "administrator to configure an https:// URL for it."
)


@dataclass(frozen=True)
class RecordedGateway:
    """The gateway as it was when the token was issued (what ``client`` needs of a gateway)."""

    name: str
    token_url: str
    revoke_url: str
    introspection_url: str
    client_auth: str
    ca_bundle: str


def plain_http_refusal(*urls: str) -> str | None:
    if settings.PORTAL_ALLOW_HTTP_GATEWAYS:
        return None
    if any(url and not url.lower().startswith("https://") for url in urls):
        return PLAIN_HTTP_MESSAGE
    return None


def renewal_refusal(issuance: Issuance) -> str | None:
    """Why this token may not be renewed at its gateway now, or None."""
    gateway = issuance.credential.gateway
    if issuance.gateway_id is not None and issuance.gateway_id != gateway.pk:
        return MOVED_MESSAGE
    if issuance.token_url and issuance.token_url != gateway.token_url:
        return (
            f"The gateway's token URL changed since this token was issued (from "
            f"{issuance.token_url} to {gateway.token_url}). Renewing would send its refresh token "
            "to the new address, so generate a new token instead."
        )
    return plain_http_refusal(gateway.token_url)


def revocation_refusal(issuance: Issuance) -> str | None:
    """Why this token may not be revoked at its recorded gateway now, or None."""
    gateway = issuance.credential.gateway
    if issuance.gateway_id is not None and issuance.gateway_id != gateway.pk:
        return MOVED_MESSAGE
    return plain_http_refusal(issuance.revoke_url or gateway.revoke_url)


def introspection_refusal(issuance: Issuance) -> str | None:
    """Why this token may not be sent to its gateway's introspection URL now, or None. The URL
    is the gateway's current one, so the same rule as renewal applies: same gateway, same token
    URL (an edited gateway must not receive this token at a new address)."""
    gateway = issuance.credential.gateway
    if not gateway.introspection_url:
        return "This gateway offers no introspection URL, so the portal cannot ask it."
    refusal = renewal_refusal(issuance)
    return refusal or plain_http_refusal(gateway.introspection_url)


def at_recorded_urls(
    credentials: client.ClientCredentials, issuance: Issuance
) -> client.ClientCredentials:
    """The same key and secret, addressed to the URLs recorded with the issuance."""
    gateway = credentials.gateway
    recorded = RecordedGateway(
        name=gateway.name,
        token_url=issuance.token_url or gateway.token_url,
        revoke_url=issuance.revoke_url or gateway.revoke_url,
        introspection_url=getattr(gateway, "introspection_url", ""),
        client_auth=gateway.client_auth,
        ca_bundle=gateway.ca_bundle,
    )
    return replace(credentials, gateway=recorded)


@dataclass(frozen=True, repr=False)
class StoredToken:
    """What to send the gateway about an issuance: its refresh token when it has one (revoking or
    asking about it covers the whole grant), else its access token, with the credentials
    addressed to the recorded URLs. Never logged."""

    token: str
    hint: str
    credentials: client.ClientCredentials


class Unreadable(Exception):
    """The stored token or the credential's secrets cannot be decrypted; ``message`` says so."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@sensitive_variables("token", "credentials")
def stored_token(issuance: Issuance, *, actor) -> StoredToken:
    use_refresh = bool(issuance.refresh_token_encrypted)
    field_name = "refresh_token_encrypted" if use_refresh else "access_token_encrypted"
    try:
        token = crypto.unseal(issuance, field_name)
        credentials = at_recorded_urls(
            vault.credential_client_credentials(credential=issuance.credential, actor=actor),
            issuance,
        )
    except (crypto.DecryptionError, vault.CredentialUnreadable) as exc:
        raise Unreadable(getattr(exc, "user_message", TOKEN_UNREADABLE_MESSAGE)) from None
    hint = "refresh_token" if use_refresh else "access_token"
    return StoredToken(token=token, hint=hint, credentials=credentials)
