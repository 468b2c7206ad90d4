"""Token history as CSV, produced lazily for a StreamingHttpResponse: everything the history
table shows, plus the fingerprint, and never the token itself."""

from collections.abc import Iterable, Iterator

from portal.core import csv as core_csv
from portal.tokens.models import Issuance, Status

EXPORT_COLUMNS = (
    "id",
    "name",
    "note",
    "issued_at",
    "issued_by",
    "credential",
    "grant_type",
    "upstream_username",
    "requested_scopes",
    "granted_scopes",
    "scopes_not_granted",
    "token_type",
    "token_format",
    "expires_at",
    "status",
    "failure_kind",
    "failure_message",
    "renewed_from",
    "renewed_by",
    "access_token_last4",
    "access_token_fingerprint",
    "revoked_at",
    "revoked_by",
)


def _iso(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def export_row(issuance: Issuance) -> list[str]:
    """One CSV row - everything the table shows, and never the token itself."""
    renewed_by = (
        getattr(issuance, "renewed_by", None) if issuance.status == Status.RENEWED else None
    )
    values = {
        "id": issuance.pk,
        "name": issuance.name,
        "note": issuance.note,
        "issued_at": _iso(issuance.issued_at),
        "issued_by": issuance.issued_by.username if issuance.issued_by else "",
        "credential": issuance.credential.name,
        "grant_type": issuance.grant_type,
        "upstream_username": issuance.upstream_username,
        "requested_scopes": " ".join(issuance.requested_scopes or []),
        "granted_scopes": " ".join(issuance.granted_scopes or []),
        "scopes_not_granted": " ".join(issuance.scopes_not_granted)
        if issuance.status != Status.FAILED
        else "",
        "token_type": issuance.token_type,
        "token_format": issuance.token_format,
        "expires_at": _iso(issuance.expires_at),
        "status": issuance.display_status,
        "failure_kind": issuance.failure_kind,
        "failure_message": issuance.failure_message,
        "renewed_from": issuance.renewed_from_id or "",
        "renewed_by": renewed_by.pk if renewed_by else "",
        "access_token_last4": issuance.access_token_last4,
        "access_token_fingerprint": issuance.access_token_fingerprint,
        "revoked_at": _iso(issuance.revoked_at),
        "revoked_by": issuance.revoked_by.username if issuance.revoked_by else "",
    }
    return [values[c] for c in EXPORT_COLUMNS]


def csv_lines(issuances: Iterable[Issuance]) -> Iterator[str]:
    return core_csv.csv_lines(EXPORT_COLUMNS, map(export_row, issuances))
