"""Who the portal is to a gateway for one call: the credentials object every client call takes.

The vault decrypts a stored credential into a :class:`ClientCredentials` just before a call
(``vault.services.credential_client_credentials``); the client reads the consumer key and secret
from it and nothing else ever needs to. Its repr names the gateway and hides both secrets, so a
log line, traceback or error report that shows it reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


class Gateway(Protocol):
    """What the client reads of a gateway (the real one is ``vault.models.Gateway``).
    ``introspection_url`` is optional: a gateway without it offers no introspection."""

    token_url: str
    revoke_url: str
    client_auth: str
    ca_bundle: str


@dataclass(frozen=True, repr=False)
class ClientCredentials:
    """The gateway, and the consumer key and secret of the application the portal calls it as.
    Held in memory for one call only."""

    gateway: Gateway
    consumer_key: str
    consumer_secret: str

    def __repr__(self) -> str:
        name = getattr(self.gateway, "name", "") or host_of(self.gateway.token_url)
        return (
            f"ClientCredentials(gateway={name!r}, consumer_key=<hidden>, consumer_secret=<hidden>)"
        )


def host_of(url: str) -> str:
    """The host name of ``url`` for log lines and reprs ("?" when there is none)."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
