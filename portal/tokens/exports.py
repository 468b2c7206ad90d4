"""Token history as CSV, produced lazily for a StreamingHttpResponse: everything the history
table shows, plus the fingerprint, and never the token itself.

Rows are formatted from plain values (``selectors.history_export_batches``) a batch at a time:
no model instance and no query per row, so a million rows stream in seconds in flat memory.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.utils import timezone

from portal.core import csv as core_csv
from portal.tokens.models import Status, display_status, scopes_not_granted
from portal.tokens.selectors import ExportBatch

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


def _seconds(iso: str | None) -> str:
    """``isoformat(timespec="seconds")`` of a time the database wrote as UTC ISO-8601 text
    with microseconds (``core.dates.UtcIso``); empty for none."""
    return iso[:19] + "+00:00" if iso else ""


def _moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


class _ScopeCells(dict):
    """(requested JSON, granted JSON) -> the requested, granted and not-granted cells. A team
    uses a handful of scope combinations, so each is decoded once, not once a row; cleared if
    ever it grows large, so memory stays flat."""

    def __missing__(self, key: tuple[str, str]) -> tuple[str, str, str]:
        requested, granted = (json.loads(text) if text else [] for text in key)
        cells = (
            " ".join(requested or []),
            " ".join(granted or []),
            " ".join(scopes_not_granted(requested, granted)),
        )
        if len(self) >= 10_000:
            self.clear()
        self[key] = cells
        return cells


def export_rows(batch: ExportBatch, *, now, scopes: dict | None = None) -> list[tuple]:
    """The CSV rows of one batch, in ``EXPORT_COLUMNS`` order; the status as it reads at
    ``now`` (one moment for the whole export). ``scopes`` carries decoded scope cells from one
    batch to the next."""
    users, credentials, renewals = batch.usernames, batch.credential_names, batch.renewed_by
    scopes = _ScopeCells() if scopes is None else scopes
    rows = []
    for (
        pk, issued_at, issued_by_id, credential_id, grant_type, upstream_username, requested,
        granted, token_type, token_format, expires_at, status, failure_kind, failure_message,
        renewed_from_id, last4, fingerprint, revoked_at, revoked_by_id, name, note,
    ) in batch.rows:  # fmt: skip
        requested_cell, granted_cell, missing_cell = scopes[requested, granted]
        rows.append(
            (
                pk,
                name,
                note,
                _seconds(issued_at),
                users.get(issued_by_id, ""),
                credentials[credential_id],
                grant_type,
                upstream_username,
                requested_cell,
                granted_cell,
                "" if status == Status.FAILED else missing_cell,
                token_type,
                token_format,
                _seconds(expires_at),
                # Only a live token's status depends on its expiry (and the time).
                display_status(
                    status, _moment(expires_at) if status == Status.ACTIVE else None, now
                ),
                failure_kind,
                failure_message,
                renewed_from_id or "",
                renewals.get(pk, "") if status == Status.RENEWED else "",
                last4,
                fingerprint,
                _seconds(revoked_at),
                users.get(revoked_by_id, ""),
            )
        )
    return rows


def csv_chunks(batches: Iterable[ExportBatch]) -> Iterator[str]:
    """The header line, then one block of CSV lines per batch."""
    now = timezone.now()
    scopes = _ScopeCells()
    return core_csv.csv_blocks(
        EXPORT_COLUMNS, (export_rows(b, now=now, scopes=scopes) for b in batches)
    )
