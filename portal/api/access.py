"""What an API key may see and do: the apps' own access rules, narrowed to the key.

A request made with a key acts as the key's creator, but only inside the key's team, with the
key's role (never above the creator's: ``services.api_key_authenticate`` refuses a key whose
creator dropped below it) and, for a restricted key, only with its credentials and their tokens.
Every lookup first goes through the owning app's ``access.py`` as the creator - so an outsider
gets the same 404 as on the pages - then anything outside the key's team or credentials is a
404 too (the key cannot know it exists), and a role too low for the action is a 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from portal.audit import access as audit_access
from portal.teams.access import role_allows, team_object_get_for_user
from portal.teams.models import Membership, Role, Team
from portal.tokens import access as tokens_access
from portal.tokens.models import Issuance
from portal.vault import access as vault_access
from portal.vault.models import Credential

if TYPE_CHECKING:
    from portal.api.models import ApiKey


@dataclass(frozen=True)
class KeyPrincipal:
    """Who a request made with an API key acts as, and within which bounds."""

    key: ApiKey
    user: object
    team: Team
    role: str
    # None: every credential of the team; else only these.
    credential_ids: frozenset | None = field(default=None)

    @property
    def team_id(self):
        return self.team.pk

    def allows(self, need: str) -> bool:
        return role_allows(self.role, need)

    def require(self, need: str) -> None:
        if not self.allows(need):
            raise PermissionDenied(
                f"This needs an API key with the {Role(need).label.lower()} role."
            )

    def covers(self, credential_id) -> bool:
        return self.credential_ids is None or credential_id in self.credential_ids

    def as_membership(self) -> Membership:
        """The key as a membership of its team (unsaved): for the apps' rules that take one."""
        return Membership(team=self.team, user=self.user, role=self.role)


def credentials_for_key(principal: KeyPrincipal) -> QuerySet[Credential]:
    """The key's team's active credentials the key may use, by name."""
    qs = Credential.objects.select_related("gateway").filter(
        team=principal.team, archived_at__isnull=True
    )
    if principal.credential_ids is not None:
        qs = qs.filter(pk__in=principal.credential_ids)
    return qs.order_by("name", "pk")


def credential_get_for_key(principal: KeyPrincipal, ref: str, *, need: str) -> Credential:
    """A credential by id or (case-insensitive) name: 404 outside the key's team or credentials
    (and for archived ones, as on the generate page), 403 when the key's role is below ``need``."""
    try:
        pk = uuid.UUID(str(ref))
    except ValueError:
        pk = (
            Credential.objects.filter(
                team=principal.team, name__iexact=str(ref).strip(), archived_at__isnull=True
            )
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            raise Http404("No such credential.") from None
    credential = vault_access.credential_get_for_user(principal.user, pk)
    if credential.team_id != principal.team_id or not principal.covers(credential.pk):
        raise Http404("No such credential.")
    if credential.is_archived:
        raise Http404("This credential is archived.")
    principal.require(need)
    return credential


def issuance_get_for_key(principal: KeyPrincipal, pk, *, need: str = Role.VIEWER) -> Issuance:
    """A token the key may read: 404 outside its team or credentials, 403 below ``need``."""
    issuance = tokens_access.issuance_get_for_user(principal.user, pk)
    if issuance.team_id != principal.team_id or not principal.covers(issuance.credential_id):
        raise Http404("No such token.")
    principal.require(need)
    return issuance


def issuance_may_manage(principal: KeyPrincipal, issuance: Issuance) -> bool:
    """The pages' rule with the key's role: an issuer key manages its creator's own tokens."""
    return tokens_access.issuance_may_manage(
        principal.user, issuance, membership=principal.as_membership()
    )


def issuance_get_for_key_manager(principal: KeyPrincipal, pk) -> Issuance:
    """A token the key may renew or revoke: 404 as above, 403 for a viewer key and for tokens of
    other members."""
    issuance = issuance_get_for_key(principal, pk, need=Role.ISSUER)
    if not issuance_may_manage(principal, issuance):
        raise PermissionDenied("Only the person who generated this token can do that with a key.")
    return issuance


def audit_only_actor_id(principal: KeyPrincipal):
    """The audit pages' rule with the key's role (an issuer reads only their own events)."""
    return audit_access.audit_only_actor_id(principal.as_membership())


# --- The key management pages ----------------------------------------------------------------


def api_key_get_for_manager(user, pk) -> ApiKey:
    """A key the user may revoke: their own, or any of a team they own. 404 for outsiders (and
    unknown or malformed ids), 403 for other members' keys."""
    from portal.api.models import ApiKey

    key = team_object_get_for_user(
        ApiKey.objects.select_related("team", "created_by"),
        user,
        pk,
        need=Role.VIEWER,
        what="API key",
    )
    if key.created_by_id != user.pk and key.my_role != Role.OWNER:
        raise PermissionDenied("Only the key's creator or a team owner can revoke it.")
    return key
