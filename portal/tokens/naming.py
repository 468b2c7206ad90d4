"""What a token is called when its holder gives it no name, and the rules for names and notes."""

from datetime import datetime

from django.utils import timezone

NAME_MAX = 100
NOTE_MAX = 500


def default_name(*, credential_name: str, at: datetime) -> str:
    """``Orders API · Dec 1 14:05``: which application, and when - enough to tell tokens apart
    in a list before anyone names them."""
    local = timezone.localtime(at)
    return f"{credential_name} · {local:%b} {local.day} {local:%H:%M}"[:NAME_MAX]


def tidy(text: str, *, limit: int) -> str:
    """One line of printable text, inner whitespace collapsed, at most ``limit`` characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text or "").split())[:limit]
