"""A fake Token API client for service and view tests (the middle of the three layers: the real
client against a local HTTP server, services and views against this fake, full flows against the
sandbox).

It replaces the four call functions of ``portal.gateway.client`` and keeps the real types
(``TokenResponse``, ``RevokeResult``, ``TokenApiError``), so services see exactly what the real
client would give them. Every call is remembered for assertions, with its ``credentials``.
"""

import base64
import dataclasses
import itertools
import json
from dataclasses import dataclass, field

from portal.gateway import client, jwt

_counter = itertools.count(1)


def make_jwt(claims: dict) -> str:
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


@dataclass
class FakeTokenApi:
    """Configure ``error`` (a TokenApiError to raise), ``grant_only`` (scopes the gateway grants),
    ``jwt`` (issue JWTs) or ``revoke_error``; read ``calls`` afterwards."""

    error: Exception | None = None
    revoke_error: Exception | None = None
    grant_only: list[str] | None = None
    jwt: bool = False
    expires_in: int | None = 3600
    # A refresh answer without a new refresh token (servers that do not rotate may omit it).
    refresh_rotates: bool = True
    # What the answer's scope becomes for a renewal; [] stands for "scope omitted" (the client
    # then reports the requested scopes, and a renewal requests none).
    renewal_scopes: list[str] | None = None
    calls: list[tuple[str, dict]] = field(default_factory=list)
    issued: list[client.TokenResponse] = field(default_factory=list)

    def _issue(self, name: str, kwargs: dict, *, refresh: bool) -> client.TokenResponse:
        self.calls.append((name, kwargs))
        if self.error is not None:
            raise self.error
        n = next(_counter)
        scopes = list(kwargs.get("scopes") or []) or ["default"]
        if self.grant_only is not None:
            scopes = [s for s in scopes if s in self.grant_only] or ["default"]
        if self.jwt:
            access = make_jwt(
                {"sub": kwargs.get("username", "app"), "scope": " ".join(scopes), "jti": f"j{n}"}
            )
        else:
            access = f"fake-access-token-{n:06d}-abcd"
        response = client.TokenResponse(
            access_token=access,
            refresh_token=f"fake-refresh-token-{n:06d}" if refresh else None,
            token_type="Bearer",
            expires_in=self.expires_in,
            scopes=scopes,
            jwt_claims=jwt.decode_jwt_claims(access),
        )
        self.issued.append(response)
        return response

    def password_grant(self, credentials, **kwargs):
        return self._issue("password", {"credentials": credentials, **kwargs}, refresh=True)

    def client_credentials_grant(self, credentials, **kwargs):
        return self._issue(
            "client_credentials", {"credentials": credentials, **kwargs}, refresh=False
        )

    def refresh_grant(self, credentials, **kwargs):
        kwargs = {"credentials": credentials, **kwargs, "scopes": None}
        response = self._issue("refresh_token", kwargs, refresh=self.refresh_rotates)
        if self.renewal_scopes is not None:
            response = dataclasses.replace(response, scopes=list(self.renewal_scopes))
            self.issued[-1] = response
        return response

    def revoke(self, credentials, token, token_type_hint=None):
        kwargs = {"credentials": credentials, "token": token, "token_type_hint": token_type_hint}
        self.calls.append(("revoke", kwargs))
        if self.revoke_error is not None:
            raise self.revoke_error
        return client.RevokeResult(accepted=True)

    def install(self, monkeypatch) -> "FakeTokenApi":
        for name in ("password_grant", "client_credentials_grant", "refresh_grant", "revoke"):
            monkeypatch.setattr(client, name, getattr(self, name))
        return self

    def calls_named(self, name: str) -> list[dict]:
        return [kwargs for call, kwargs in self.calls if call == name]
