"""Issue, renew, reveal, revoke, reconcile and purge tokens.

The flow of every upstream call (docs/architecture.md, "Flows"): a short transaction writes a
``pending`` issuance and the audit event "requested" and commits; the Token API is called outside
any transaction; a second short transaction marks the issuance ``active`` or ``failed`` and
audits the outcome. If that second step fails after the gateway issued a token, the token is
revoked upstream at once (fail closed): no token is ever shown that is not recorded. A crash
between the steps leaves a ``pending`` row that ``manage.py reconcile`` resolves.

Raw tokens leave this package exactly once, through ``token_reveal_once``. Every submodule
calls the Token API through the module ``portal.gateway.client`` (tests replace its
functions there).
"""

from portal.tokens.services.check import CheckResult, token_check_at_gateway
from portal.tokens.services.common import (
    GATEWAY_CACHE_NOTE,
    TOKEN_UNREADABLE_MESSAGE,
    RateLimited,
    TokenActionError,
)
from portal.tokens.services.history import history_export_record
from portal.tokens.services.housekeeping import token_purge, token_reconcile
from portal.tokens.services.issue import (
    INTERNAL_ERROR_MESSAGE,
    RECORDING_FAILED_MESSAGE,
    token_issue,
    token_renew,
)
from portal.tokens.services.outcome import NEVER_EXPIRES_AFTER
from portal.tokens.services.reveal import RevealedToken, token_reveal_once
from portal.tokens.services.revoke import RevokeSummary, token_revoke, token_revoke_many

__all__ = [
    "GATEWAY_CACHE_NOTE",
    "INTERNAL_ERROR_MESSAGE",
    "NEVER_EXPIRES_AFTER",
    "RECORDING_FAILED_MESSAGE",
    "TOKEN_UNREADABLE_MESSAGE",
    "RateLimited",
    "RevealedToken",
    "RevokeSummary",
    "TokenActionError",
    "CheckResult",
    "history_export_record",
    "token_check_at_gateway",
    "token_issue",
    "token_purge",
    "token_reconcile",
    "token_renew",
    "token_reveal_once",
    "token_revoke",
    "token_revoke_many",
]
