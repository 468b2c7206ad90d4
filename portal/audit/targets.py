"""Where an audit row's target lives: ``target_type`` → a function building its URL.

Other apps add their own entry, typically in their ``AppConfig.ready()``::

    from portal.audit.targets import register_target
    register_target("tokens.issuance", lambda event: reverse("tokens:detail", args=[event.target_id]))

A builder gets the ``AuditEvent`` and returns a URL or None. Errors (a malformed id, a URL name
that does not exist yet) mean "no link", never a broken page. The link only leads somewhere the
reader may go if the page behind it checks access itself - every portal page does.
"""

from collections.abc import Callable

from django.urls import NoReverseMatch

from portal.audit.models import AuditEvent
from portal.core.links import id_url

TargetUrlBuilder = Callable[[AuditEvent], str | None]

_registry: dict[str, TargetUrlBuilder] = {}


def register_target(target_type: str, builder: TargetUrlBuilder) -> None:
    """Link audit rows whose ``target_type`` is e.g. ``"vault.credential"`` to ``builder(event)``."""
    _registry[target_type] = builder


def target_url(event: AuditEvent) -> str | None:
    builder = _registry.get(event.target_type)
    if builder is None or not event.target_id:
        return None
    try:
        return builder(event)
    except (NoReverseMatch, ValueError, TypeError):
        return None


# The builders below link to pages of one UUID: ``id_url`` reverses each pattern once, not once
# per row of an audit page (a reverse() per row was a tenth of the page's time).


def _team_detail(event: AuditEvent) -> str | None:
    return id_url("teams:detail", event.target_id)


def _membership_team(event: AuditEvent) -> str | None:
    # A membership has no page of its own; its team's member list shows it.
    if event.team_id is None:
        return None
    return id_url("teams:detail", event.team_id)


def _team_credentials(event: AuditEvent) -> str | None:
    # The credential list of its team: readable by every member (editing needs an owner).
    if event.team_id is None:
        return None
    return id_url("vault:credential_list_team", event.team_id)


def _issuance_detail(event: AuditEvent) -> str | None:
    return id_url("tokens:detail", event.target_id)


register_target("teams.team", _team_detail)
register_target("teams.membership", _membership_team)
# Defaults for the vault and tokens apps; they may replace them with register_target().
register_target("vault.credential", _team_credentials)
register_target("tokens.issuance", _issuance_detail)
