"""What of a team's audit trail a member reads (the team itself comes from ``teams.access``)."""

from portal.teams.models import Membership, Role


def audit_only_actor_id(membership: Membership):
    """Owners and viewers read the team's whole trail; an issuer reads only their own events
    (returns the user id to restrict to, or None for no restriction)."""
    return membership.user_id if membership.role == Role.ISSUER else None
