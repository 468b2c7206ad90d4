"""Housekeeping for ``manage.py reconcile`` and ``manage.py purge_tokens``: finish what a crash
interrupted, and wipe stored tokens nobody can use any more."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit import services as audit
from portal.audit.models import Action
from portal.tokens.models import TERMINAL_STATUSES, Issuance, Status
from portal.tokens.services.check import token_check_all
from portal.tokens.services.common import TokenActionError, mark_failed
from portal.tokens.services.revoke import token_revoke

logger = logging.getLogger(__name__)


def token_reconcile(*, older_than: timedelta, now=None, introspect: bool = True) -> list[Issuance]:
    """Finish what a crash or a database outage interrupted, for rows older than ``older_than``:

    - ``pending`` issuances are marked failed. A pending row holds no token (tokens are stored in
      the transaction that makes it active), so there is nothing of ours to revoke; a token the
      gateway may have minted expires on its own.
    - active issuances whose revocation was requested but never recorded are revoked again
      (gateways answer 200 for a token already revoked), so the portal's record matches the
      gateway's.
    - with ``introspect``, active tokens of gateways that offer introspection (RFC 7662) are
      checked there, and those the gateway no longer knows as active are recorded so.

    Every resolution is audited. Returns the issuances it resolved.
    """
    cutoff = (now or timezone.now()) - older_than
    resolved = []
    for issuance in Issuance.objects.filter(status=Status.PENDING, issued_at__lt=cutoff):
        mark_failed(
            issuance,
            kind="interrupted",
            message="The portal stopped before this request finished. Generate a new token.",
            actor=None,
            action=Action.TOKEN_RECONCILED,
        )
        resolved.append(issuance)
        logger.info("reconciled pending issuance %s", issuance.pk)
    unfinished = Issuance.objects.select_related("credential", "credential__gateway").filter(
        status=Status.ACTIVE, revoke_requested_at__lt=cutoff
    )
    for issuance in unfinished:
        try:
            resolved.append(token_revoke(user=None, issuance=issuance, retry_later=True))
            logger.info("finished the interrupted revocation of issuance %s", issuance.pk)
        except TokenActionError as exc:
            # The request stays recorded: the next run tries again.
            logger.warning("could not finish revoking issuance %s: %s", issuance.pk, exc.kind)
    if introspect:
        resolved.extend(token_check_all())
    return resolved


def token_purge(*, now=None) -> int:
    """Wipe stored tokens nobody can use any more: those of terminal issuances, and those of
    active issuances expired for longer than ``PORTAL_REFRESH_TOKEN_LIFETIME``. Audited once."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.PORTAL_REFRESH_TOKEN_LIFETIME)
    has_tokens = Issuance.objects.exclude(access_token_encrypted="", refresh_token_encrypted="")
    terminal = has_tokens.filter(status__in=TERMINAL_STATUSES)
    stale = has_tokens.filter(status=Status.ACTIVE, expires_at__lt=now, issued_at__lt=stale_before)
    with transaction.atomic():
        count = terminal.update(access_token_encrypted="", refresh_token_encrypted="")
        count += stale.update(
            access_token_encrypted="", refresh_token_encrypted="", has_refresh_token=False
        )
        audit.record(
            action=Action.TOKENS_PURGED,
            actor_label="system",
            details={
                "purged": count,
                "refresh_token_lifetime": settings.PORTAL_REFRESH_TOKEN_LIFETIME,
            },
        )
    return count
