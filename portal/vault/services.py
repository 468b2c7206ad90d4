"""Writes for the vault: gateways, credentials, decryption (audited on failure) and key rotation.

Secrets enter as arguments and leave only encrypted (``crypto.seal``) or as fingerprints in audit
details. Functions holding plaintext are marked ``@sensitive_variables`` so Django's error reports
never show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
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
    request=None,
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
    gateway_record_created(gateway=gateway, actor=actor, actor_label=actor_label, request=request)
    return gateway, True


def gateway_record_created(*, gateway: Gateway, actor=None, actor_label: str = "", request=None):
    """Audit a new gateway (also called by the admin, which saves through its own form)."""
    audit.record(
        action=Action.GATEWAY_CREATED,
        actor=actor,
        actor_label=actor_label,
        target=gateway,
        details={
            "name": gateway.name,
            "token_url": gateway.token_url,
            "revoke_url": gateway.revoke_url,
            "introspection_url": gateway.introspection_url,
            "username_template": gateway.username_template,
            "client_auth": gateway.client_auth,
            "is_sandbox": gateway.is_sandbox,
        },
        request=request,
    )


# --- Credentials -------------------------------------------------------------------------------------


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
    request=None,
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
                request=request,
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
    request=None,
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
                request=request,
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _NAME_TAKEN}) from exc
    return credential


@transaction.atomic
def credential_archive(*, credential: Credential, actor, request=None) -> Credential:
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
        request=request,
    )
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


def _record_decrypt_failure(*, instance, field_name: str, actor, request, team=None) -> None:
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
            request=request,
        )


@sensitive_variables("values")
def _unseal_audited(credential: Credential, logical: list[str], *, actor, request) -> dict:
    values = {}
    for name in logical:
        field_name = SECRET_FIELDS[name]
        try:
            values[name] = crypto.unseal(credential, field_name)
        except crypto.DecryptionError as exc:
            _record_decrypt_failure(
                instance=credential,
                field_name=field_name,
                actor=actor,
                request=request,
                team=credential.team_id,
            )
            raise CredentialUnreadable(UNREADABLE_MESSAGE) from exc
    return values


def credential_secrets(*, credential: Credential, actor=None, request=None) -> CredentialSecrets:
    """Decrypt the key, secret and org key for one upstream call. On failure the attempt is
    audited (``credential.decrypt_failed``, no secret in details) and ``CredentialUnreadable``
    is raised; show its ``user_message``. Call it outside a transaction you might roll back."""
    return CredentialSecrets(
        **_unseal_audited(
            credential, ["consumer_key", "consumer_secret", "org_key"], actor=actor, request=request
        )
    )


@sensitive_variables("values")
def credential_client_credentials(
    *, credential: Credential, actor=None, request=None
) -> gateway_credentials.ClientCredentials:
    """What one Token API call with this credential needs: its gateway and the decrypted consumer
    key and secret (the org key stays sealed). Failures are audited and raise
    ``CredentialUnreadable`` like ``credential_secrets``."""
    values = _unseal_audited(
        credential, ["consumer_key", "consumer_secret"], actor=actor, request=request
    )
    return gateway_credentials.ClientCredentials(gateway=credential.gateway, **values)


def credential_org_key(*, credential: Credential, actor=None, request=None) -> str:
    """Only the org key (to compose usernames); failures are audited like ``credential_secrets``."""
    return _unseal_audited(credential, ["org_key"], actor=actor, request=request)["org_key"]


# --- Key rotation ------------------------------------------------------------------------------------


@dataclass
class RotationResult:
    active_key_id: str
    dry_run: bool
    rotated: int = 0
    already_current: int = 0
    failed: int = 0
    skipped_concurrent: int = 0
    per_field: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        return {
            "active_key_id": self.active_key_id,
            "rotated": self.rotated,
            "already_current": self.already_current,
            "failed": self.failed,
            "skipped_concurrent": self.skipped_concurrent,
            "per_field": self.per_field,
        }


def _rotate_batch(model, fields, rows, *, active: str, dry_run: bool, result: RotationResult):
    label = model._meta.label
    for pk, *values in rows:
        updates: dict[str, tuple[str, str]] = {}
        for field_name, value in zip(fields, values, strict=True):
            stats = result.per_field.setdefault(
                f"{label}.{field_name}", {"rotated": 0, "already_current": 0, "failed": 0}
            )
            if not value:
                continue
            instance = model(pk=pk)
            try:
                if crypto.key_id_of(value) == active:
                    stats["already_current"] += 1
                    result.already_current += 1
                    continue
                new = crypto.reencrypt(value, aad=crypto.aad_for(instance, field_name))
            except crypto.DecryptionError:
                stats["failed"] += 1
                result.failed += 1
                if not dry_run:
                    setattr(instance, field_name, value)
                    _record_decrypt_failure(
                        instance=instance, field_name=field_name, actor=None, request=None
                    )
                continue
            updates[field_name] = (value, new)
        if not updates:
            continue
        if not dry_run:
            # Only if nobody changed the row meanwhile; a skipped value is rotated on the next run.
            matched = model._default_manager.filter(
                pk=pk, **{f: old for f, (old, _) in updates.items()}
            ).update(**{f: new for f, (_, new) in updates.items()})
            if not matched:
                result.skipped_concurrent += len(updates)
                continue
        for field_name in updates:
            result.per_field[f"{label}.{field_name}"]["rotated"] += 1
        result.rotated += len(updates)


def keys_rotate(
    *, dry_run: bool = False, batch_size: int = 200, actor_label: str = "rotate_encryption_keys"
) -> RotationResult:
    """Re-encrypt every registered encrypted value under the active key, one short transaction per
    batch of rows. Idempotent and resumable: values already under the active key are skipped, so an
    interrupted run is simply run again. Unreadable values are counted and audited, not changed.
    A real run is audited (``keys.rotated``) with the counts; a dry run changes nothing."""
    active = crypto.active_key_id()
    result = RotationResult(active_key_id=active, dry_run=dry_run)
    for label, fields in crypto.encrypted_fields().items():
        model = apps.get_model(label)
        last_pk = None
        while True:
            qs = model._default_manager.order_by("pk")
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            rows = list(qs.values_list("pk", *fields)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1][0]
            with transaction.atomic():
                _rotate_batch(model, fields, rows, active=active, dry_run=dry_run, result=result)
    if not dry_run:
        audit.record(
            action=Action.KEYS_ROTATED,
            outcome=Outcome.FAILURE if result.failed else Outcome.SUCCESS,
            actor_label=actor_label,
            details=result.as_details(),
        )
    return result
