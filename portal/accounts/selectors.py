"""Reads for accounts: a person's live sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from portal.accounts.models import Session
from portal.accounts.session_store import stored_key

_BROWSERS = [  # order matters: Edge and Opera also say Chrome, Chrome also says Safari
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chromium", re.compile(r"Chromium/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
    ("curl", re.compile(r"^curl/")),
]
_SYSTEMS = [
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
]


def describe_user_agent(user_agent: str) -> str:
    """'Firefox on Linux', 'Chrome on macOS', … - enough to recognise one's own devices."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


@dataclass(frozen=True)
class SessionView:
    browser: str
    ip: str
    last_seen: datetime | None
    current: bool


def session_list_for_user(*, user, current_session_key: str | None) -> list[SessionView]:
    """The user's unexpired sessions, most recently seen first; ``current`` marks the one
    whose (cookie) key is given."""
    current = stored_key(current_session_key) if current_session_key else None
    rows = (
        Session.objects.filter(user=user, expire_date__gt=timezone.now())
        .order_by("-last_seen")
        .values_list("session_key", "user_agent", "ip", "last_seen")
    )
    return [
        SessionView(
            browser=describe_user_agent(user_agent),
            ip=ip,
            last_seen=last_seen,
            current=key == current,
        )
        for key, user_agent, ip, last_seen in rows
    ]
