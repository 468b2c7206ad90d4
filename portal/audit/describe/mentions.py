"""What a page of events mentions, looked up once per page: the tokens (for their last characters,
name, expiry and page) and, on the portal-wide page, the teams."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps

from portal.core.links import id_url

TOKEN_TARGET = "tokens.issuance"
# Details that name another token than the event's target (the one renewed).
TOKEN_DETAILS = ("renewed_from", "renews")


@dataclass(frozen=True)
class TokenRef:
    last4: str
    name: str
    expires_at: datetime | None
    url: str


def mentioned_tokens(events: Iterable) -> set[str]:
    """Ids of the tokens ``events`` are about or name in their details."""
    ids = set()
    for e in events:
        if e.target_type == TOKEN_TARGET and e.target_id:
            ids.add(e.target_id)
        details = e.details if isinstance(e.details, dict) else {}
        for key in TOKEN_DETAILS:
            if details.get(key):
                ids.add(str(details[key]))
    return ids


def token_refs(ids: Iterable[str]) -> dict[str, TokenRef]:
    """The tokens of ``ids`` that still exist, by id text, in one query (none for no ids);
    malformed ids are skipped."""
    wanted = []
    for raw in ids:
        try:
            wanted.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return {}
    Issuance = apps.get_model("tokens", "Issuance")
    rows = Issuance.objects.filter(pk__in=wanted).values_list(
        "pk", "access_token_last4", "name", "expires_at"
    )
    return {
        str(pk): TokenRef(
            last4=last4 or "",
            name=name or "",
            expires_at=expires,
            url=id_url("tokens:detail", pk),
        )
        for pk, last4, name, expires in rows
    }


def team_names(ids: Iterable) -> dict[str, tuple[str, bool]]:
    """(name, is personal) of the teams of ``ids`` that still exist, by id text, in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    Team = apps.get_model("teams", "Team")
    rows = Team.objects.filter(pk__in=wanted).values_list("pk", "name", "personal_owner_id")
    return {str(pk): (name, owner is not None) for pk, name, owner in rows}
