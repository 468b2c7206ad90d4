"""``GET /me`` (who the key acts as) and ``GET /credentials`` (what it may use, masked)."""

from ninja import Router

from portal.api import access
from portal.api.v1.schemas import CredentialOut, KeyOut, MeOut, Problem, TeamOut, credential_out

router = Router(tags=["account"])


@router.get("/me", response={200: MeOut, 401: Problem}, url_name="me")
def me(request):
    """The person the key acts as, and the key's team, role, expiry and credentials."""
    principal = request.auth
    key, user = principal.key, principal.user
    names = (
        None
        if principal.credential_ids is None
        else sorted(access.credentials_for_key(principal).values_list("name", flat=True))
    )
    return MeOut(
        username=user.get_username(),
        display_name=user.display_name,
        email=user.email,
        api_store_email=user.api_store_email,
        key=KeyOut(
            id=key.pk,
            name=key.name,
            role=key.role,
            team=TeamOut(id=principal.team.pk, name=principal.team.name),
            expires_at=key.expires_at,
            credentials=names,
        ),
    )


@router.get(
    "/credentials", response={200: list[CredentialOut], 401: Problem}, url_name="credentials"
)
def credentials(request):
    """The key's team's active credentials that the key may use, masked as on the pages (the
    consumer secret is never shown)."""
    return [credential_out(c) for c in access.credentials_for_key(request.auth)]
