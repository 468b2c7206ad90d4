"""Writes for the vault: gateways, credentials and decryption (audited on failure).

Secrets enter as arguments and leave only encrypted (``crypto.seal``) or as fingerprints in audit
details. Functions holding plaintext are marked ``@sensitive_variables`` so Django's error reports
never show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import credentials as gateway_credentials
from portal.teams.models import Team
from portal.vault import crypto
from portal.vault.models import Credential, Gateway
from portal.vault.selectors import mask_consumer_key

UNREADABLE_MESSAGE = (
    "The stored secrets of this credential cannot be decrypted - the encryption key that sealed "
    "them may be missing from PORTAL_ENCRYPTION_KEYS. Ask an administrator; a team owner can also "
    "re-enter the consumer key, secret and org key on the credential's edit page."
)
_NAME_TAKEN = "This team already has an active credential with this name."

# Logical names in audit details and forms -> the ciphertext fields.
SECRET_FIELDS = {
    "consumer_key": "consumer_key_encrypted",
    "consumer_secret": "consumer_secret_encrypted",
    "org_key": "org_key_encrypted",
}


class CredentialUnreadable(crypto.DecryptionError):
    """A credential's stored secret does not decrypt. ``user_message`` is safe to show."""

    user_message = UNREADABLE_MESSAGE


@dataclass(frozen=True, repr=False)
class CredentialSecrets:
    """Decrypted values, held only in memory for one upstream call."""

    consumer_key: str
    consumer_secret: str
    org_key: str

    def __repr__(self) -> str:  # never show the values in a traceback or log line
        return "CredentialSecrets(<hidden>)"


# --- Gateways ----------------------------------------------------------------------------------------


@transaction.atomic
def gateway_create(
    *,
    name: str,
    token_url: str,
    revoke_url: str,
    introspection_url: str = "",
    username_template: str = "{username}",
    client_auth: str = "basic",
    ca_bundle: str = "",
    is_sandbox: bool = False,
    actor=None,
    actor_label: str = "",
) -> tuple[Gateway, bool]:
    """The gateway called ``name``, created if missing: ``(gateway, created)``. Idempotent by name:
    an existing gateway is returned unchanged (edit it in the admin). Raises ``ValidationError``
    for an invalid definition (e.g. an http:// URL when HTTP gateways are not allowed)."""
    existing = Gateway.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    gateway = Gateway(
        name=name,
        token_url=token_url,
        revoke_url=revoke_url,
        introspection_url=introspection_url,
        username_template=username_template,
        client_auth=client_auth,
        ca_bundle=ca_bundle,
        is_sandbox=is_sandbox,
    )
    gateway.full_clean()
    gateway.save()
    gateway_record_created(gateway=gateway, actor=actor, actor_label=actor_label)
    return gateway, True


# What the audit trail records of a gateway: everything that decides where secrets are sent.
GATEWAY_AUDITED_FIELDS = (
    "name",
    "token_url",
    "revoke_url",
    "introspection_url",
    "username_template",
    "client_auth",
    "ca_bundle",
    "default_token_lifetime",
    "is_sandbox",
)


def gateway_audited_values(gateway: Gateway) -> dict:
    return {name: getattr(gateway, name) for name in GATEWAY_AUDITED_FIELDS}


def gateway_record_created(*, gateway: Gateway, actor=None, actor_label: str = ""):
    """Audit a new gateway (also called by the admin, which saves through its own form)."""
    audit.record(
        action=Action.GATEWAY_CREATED,
        actor=actor,
        actor_label=actor_label,
        target=gateway,
        details=gateway_audited_values(gateway),
    )


def gateway_record_changed(
    *, gateway: Gateway, before: dict, actor=None, actor_label: str = ""
) -> None:
    """Audit a gateway edited in the admin: every changed field, old -> new. A staff account
    that points a token URL elsewhere would receive every team's secrets: that must show."""
    after = gateway_audited_values(gateway)
    changed = {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }
    if changed:
        audit.record(
            action=Action.GATEWAY_CHANGED,
            actor=actor,
            actor_label=actor_label,
            target=gateway,
            details={"name": gateway.name, "changed": changed},
        )


@transaction.atomic
def gateway_update(*, gateway: Gateway, actor=None, actor_label: str = "", **changes) -> Gateway:
    """Change a gateway's definition, validated like a new one and audited old -> new."""
    before = gateway_audited_values(gateway)
    for name, value in changes.items():
        setattr(gateway, name, value)
    gateway.full_clean()
    gateway.save()
    gateway_record_changed(gateway=gateway, before=before, actor=actor, actor_label=actor_label)
    return gateway


# --- Credentials -------------------------------------------------------------------------------------


GATEWAY_CHANGE_NEEDS_SECRETS = (
    "The credential moves to another gateway: enter its consumer key and secret again (the "
    "stored ones were entered for the old gateway and are never sent anywhere else)."
)


def _scopes(scopes) -> list[str]:
    seen: list[str] = []
    for scope in scopes or []:
        if scope not in seen:
            seen.append(scope)
    return seen


@sensitive_variables("consumer_key", "consumer_secret", "org_key")
def credential_create(
    *,
    team: Team,
    name: str,
    gateway: Gateway,
    consumer_key: str,
    consumer_secret: str,
    org_key: str = "",
    default_scopes: list[str] | None = None,
    allow_password: bool = True,
    allow_client_credentials: bool = False,
    actor,
) -> Credential:
    """Store a new credential, its key, secret and org key encrypted; audited with fingerprints.
    Raises ``ValidationError`` (on ``name``) when the team already has an active one so named."""
    if not consumer_key or not consumer_secret:
        raise ValidationError("A credential needs a consumer key and a consumer secret.")
    if not (allow_password or allow_client_credentials):
        raise ValidationError("Allow at least one grant type.")
    credential = Credential(
        team=team,
        name=name,
        gateway=gateway,
        default_scopes=_scopes(default_scopes),
        allow_password=allow_password,
        allow_client_credentials=allow_client_credentials,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        consumer_key_hint=mask_consumer_key(consumer_key),
    )
    crypto.seal(credential, "consumer_key_encrypted", consumer_key)
    crypto.seal(credential, "consumer_secret_encrypted", consumer_secret)
    crypto.seal(credential, "org_key_encrypted", org_key)
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
            audit.record(
                action=Action.CREDENTIAL_CREATED,
                actor=actor,
                team=team,
                target=credential,
                details={
                    "name": credential.name,
                    "gateway": gateway.name,
                    "consumer_key_fp": crypto.fingerprint(consumer_key),
                    "consumer_secret_fp": crypto.fingerprint(consumer_secret),
                    "has_org_key": bool(org_key),
                    "default_scopes": credential.default_scopes,
                    "grants": credential.allowed_grants,
                },
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _NAME_TAKEN}) from exc
    return credential


@sensitive_variables("consumer_key", "consumer_secret", "org_key")
def credential_update(
    *,
    credential: Credential,
    actor,
    name: str,
    gateway: Gateway,
    default_scopes: list[str],
    allow_password: bool,
    allow_client_credentials: bool,
    consumer_key: str = "",
    consumer_secret: str = "",
    org_key: str = "",
    clear_org_key: bool = False,
) -> Credential:
    """Change a credential. Empty ``consumer_key`` / ``consumer_secret`` / ``org_key`` keep the
    stored value; ``clear_org_key`` removes the org key. Audited with the changed field names and
    fingerprints of new keys only. Archived credentials cannot be changed."""
    if credential.is_archived:
        raise ValidationError("An archived credential cannot be changed.")
    if not (allow_password or allow_client_credentials):
        raise ValidationError("Allow at least one grant type.")
    changed: list[str] = []
    details: dict[str, Any] = {}
    if name != credential.name:
        details["old_name"] = credential.name
        credential.name = name
        changed.append("name")
    if gateway.pk != credential.gateway_id:
        # The stored key and secret were entered for the old gateway; sending them to another
        # one (perhaps one whose traffic the editor can read) needs them typed again.
        if not (consumer_key and consumer_secret):
            raise ValidationError(
                {"consumer_secret": GATEWAY_CHANGE_NEEDS_SECRETS},
                code="gateway_changed",
            )
        details["old_gateway"] = credential.gateway.name
        credential.gateway = gateway
        details["gateway"] = gateway.name
        changed.append("gateway")
    scopes = _scopes(default_scopes)
    if scopes != list(credential.default_scopes or []):
        credential.default_scopes = scopes
        details["default_scopes"] = scopes
        changed.append("default_scopes")
    if (allow_password, allow_client_credentials) != (
        credential.allow_password,
        credential.allow_client_credentials,
    ):
        credential.allow_password = allow_password
        credential.allow_client_credentials = allow_client_credentials
        details["grants"] = credential.allowed_grants
        changed.append("grants")
    if consumer_key:
        crypto.seal(credential, "consumer_key_encrypted", consumer_key)
        credential.consumer_key_hint = mask_consumer_key(consumer_key)
        details["consumer_key_fp"] = crypto.fingerprint(consumer_key)
        changed.append("consumer_key")
    if consumer_secret:
        crypto.seal(credential, "consumer_secret_encrypted", consumer_secret)
        details["consumer_secret_fp"] = crypto.fingerprint(consumer_secret)
        changed.append("consumer_secret")
    if org_key:
        crypto.seal(credential, "org_key_encrypted", org_key)
        changed.append("org_key")
    elif clear_org_key and credential.org_key_encrypted:
        credential.org_key_encrypted = ""
        changed.append("org_key")
    if not changed:
        return credential
    try:
        with transaction.atomic():
            credential.save()
            audit.record(
                action=Action.CREDENTIAL_UPDATED,
                actor=actor,
                team=credential.team_id,
                target=credential,
                details={"name": credential.name, "changed": changed, **details},
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _NAME_TAKEN}) from exc
    return credential


@transaction.atomic
def credential_archive(*, credential: Credential, actor) -> Credential:
    """Archive: kept for history, never again offered for token generation. Idempotent."""
    if credential.is_archived:
        return credential
    credential.archived_at = timezone.now()
    credential.save(update_fields=["archived_at", "updated_at"])
    audit.record(
        action=Action.CREDENTIAL_ARCHIVED,
        actor=actor,
        team=credential.team_id,
        target=credential,
        details={"name": credential.name},
    )
    return credential


def credential_restore(*, credential: Credential, actor) -> Credential:
    """Bring an archived credential back into use (its stored secrets are unchanged). Idempotent.
    Raises ``ValidationError`` when an active credential of the team has its name meanwhile."""
    if not credential.is_archived:
        return credential
    try:
        with transaction.atomic():
            credential.archived_at = None
            credential.save(update_fields=["archived_at", "updated_at"])
            audit.record(
                action=Action.CREDENTIAL_RESTORED,
                actor=actor,
                team=credential.team_id,
                target=credential,
                details={"name": credential.name},
            )
    except IntegrityError as exc:
        credential.archived_at = Credential.objects.values_list("archived_at", flat=True).get(
            pk=credential.pk
        )
        raise ValidationError(
            f"The team already has an active credential named “{credential.name}”: rename or "
            "archive that one first."
        ) from exc
    return credential


def credential_mark_used(*, credential: Credential) -> None:
    """Set ``last_used_at`` (token issuance calls this); a plain UPDATE, not an audited change.
    A display figure, so it is written at most once a minute per credential: busy credentials
    would otherwise pay one more write per token."""
    now = timezone.now()
    if credential.last_used_at and now - credential.last_used_at < timedelta(seconds=60):
        return
    Credential.objects.filter(pk=credential.pk).update(last_used_at=now)
    credential.last_used_at = now


def decrypt_record_failure(*, instance, field_name: str, actor, team=None) -> None:
    """Audit that ``field_name`` of ``instance`` did not decrypt (its key id, never a value)."""
    # Its own (sub)transaction: the failure is on record even though the caller gives up.
    with transaction.atomic():
        key_id = ""
        try:
            key_id = crypto.key_id_of(getattr(instance, field_name) or "")
        except crypto.DecryptionError:
            key_id = "unreadable"
        audit.record(
            action=Action.CREDENTIAL_DECRYPT_FAILED,
            outcome=Outcome.FAILURE,
            actor=actor,
            team=team,
            target=instance,
            details={"field": field_name, "key_id": key_id},
        )


@sensitive_variables("values")
def _unseal_audited(credential: Credential, logical: list[str], *, actor) -> dict:
    values = {}
    for name in logical:
        field_name = SECRET_FIELDS[name]
        try:
            values[name] = crypto.unseal(credential, field_name)
        except crypto.DecryptionError as exc:
            decrypt_record_failure(
                instance=credential,
                field_name=field_name,
                actor=actor,
                team=credential.team_id,
            )
            raise CredentialUnreadable(UNREADABLE_MESSAGE) from exc
    return values


def credential_secrets(*, credential: Credential, actor=None) -> CredentialSecrets:
    """Decrypt the key, secret and org key for one upstream call. On failure the attempt is
    audited (``credential.decrypt_failed``, no secret in details) and ``CredentialUnreadable``
    is raised; show its ``user_message``. Call it outside a transaction you might roll back."""
    return CredentialSecrets(
        **_unseal_audited(credential, ["consumer_key", "consumer_secret", "org_key"], actor=actor)
    )


@sensitive_variables("values")
def credential_client_credentials(
    *, credential: Credential, actor=None
) -> gateway_credentials.ClientCredentials:
    """What one Token API call with this credential needs: its gateway and the decrypted consumer
    key and secret (the org key stays sealed). Failures are audited and raise
    ``CredentialUnreadable`` like ``credential_secrets``."""
    values = _unseal_audited(credential, ["consumer_key", "consumer_secret"], actor=actor)
    return gateway_credentials.ClientCredentials(gateway=credential.gateway, **values)


def credential_org_key(*, credential: Credential, actor=None) -> str:
    """Only the org key (to compose usernames); failures are audited like ``credential_secrets``."""
    return _unseal_audited(credential, ["org_key"], actor=actor)["org_key"]
