"""The words of the OAuth 2.0 Token API, spelled once.

The client, the sandbox gateway and the models all speak the same protocol: a grant type stored
in the database is the ``grant_type`` sent on the wire and the one the sandbox checks, and an
error code the sandbox answers with is the one the client branches on. Defining them here keeps
the three from drifting apart. The contract as implemented is described in docs/token-api.md.
"""

import re
from enum import StrEnum

from django.db import models


class Grant(models.TextChoices):
    """Grant types (RFC 6749 §4.3, §4.4, §6). The labels are what history pages show; the values
    are stored in ``tokens.Issuance.grant_type`` and sent as ``grant_type``."""

    PASSWORD = "password", "Password"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    REFRESH_TOKEN = "refresh_token", "Refresh token"


# Gateway calls that are not token requests (RFC 7009 revocation, RFC 7662 introspection).
# Errors and log lines name them where a token request names its grant.
REVOCATION = "revoke"
INTROSPECTION = "introspect"


class ErrorCode(StrEnum):
    """The ``error`` values of a token endpoint's error answer (RFC 6749 §5.2)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"


class TokenTypeHint(StrEnum):
    """``token_type_hint`` values of revocation and introspection requests (RFC 7009 §2.1,
    RFC 7662 §2.1)."""

    ACCESS_TOKEN = "access_token"
    REFRESH_TOKEN = "refresh_token"


# The token type of RFC 6750, the only one the portal issues and the sandbox hands out.
BEARER = "Bearer"

# RFC 6750 §2.1 b64token: the characters of an access or refresh token. A token is pasted into
# an Authorization header and a shell command, so anything else (spaces, newlines, "$(...)") is
# refused rather than carried along.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 Appendix A.13 type-name: a token type is a plain name such as "Bearer".
TOKEN_TYPE_PATTERN = re.compile(r"[A-Za-z0-9\-._]+")

# WSO2 adds these to a revocation answer when a token was really revoked; the values are the
# revoked tokens (and the user they belonged to). Other servers send none of them.
REVOKED_ACCESS_TOKEN_HEADER = "RevokedAccessToken"
REVOKED_REFRESH_TOKEN_HEADER = "RevokedRefreshToken"
AUTHORIZED_USER_HEADER = "AuthorizedUser"
