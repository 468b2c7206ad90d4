"""What leaves the portal from the token history is recorded before it leaves."""

from portal.audit import services as audit
from portal.audit.models import Action


def history_export_record(*, team, actor, filters: dict[str, str]) -> None:
    """Audit an export of a team's token history before any row of it is streamed."""
    audit.record(
        action=Action.HISTORY_EXPORTED,
        actor=actor,
        team=team,
        target=team,
        details={"format": "csv", "filters": filters},
    )
