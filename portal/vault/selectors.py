"""Reads for the vault. Nothing here decrypts: decryption is audited and lives in services."""

from django.db.models import QuerySet

from portal.teams.models import Team
from portal.vault import crypto
from portal.vault.models import (
    ORG_KEY_PLACEHOLDERS,
    Credential,
    Gateway,
    template_fill,
    template_placeholders,
)

MASK_MIN_LENGTH = 16
FULL_MASK = "••••••••"


def mask_consumer_key(consumer_key: str) -> str:
    """``wU62…AbAa`` (first 4, last 4) for keys of 16+ characters; shorter keys are fully masked,
    because showing 8 characters of them would reveal most of the key."""
    if len(consumer_key) < MASK_MIN_LENGTH:
        return FULL_MASK
    return f"{consumer_key[:4]}…{consumer_key[-4:]}"


def gateway_list() -> QuerySet[Gateway]:
    return Gateway.objects.order_by("name")


def credential_list_for_team(*, team: Team, archived: bool = False) -> QuerySet[Credential]:
    """The team's credentials, active (default) or archived, with their gateways."""
    return (
        Credential.objects.select_related("gateway")
        .filter(team=team, archived_at__isnull=not archived)
        .order_by("name", "pk")
    )


def credential_name_taken(*, team: Team, name: str, exclude_pk=None) -> bool:
    qs = Credential.objects.filter(team=team, name__iexact=name, archived_at__isnull=True)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def gateway_compose_username(*, gateway, user, org_key: str) -> str:
    """The upstream username for ``user`` on ``gateway``: its template with ``{email}`` (the API
    Store email, else the login email), ``{username}`` (portal username) and ``{org_key}`` /
    ``{tenant}`` (the credential's org key) filled in, literally (see ``template_fill``)."""
    values = {
        "email": getattr(user, "api_store_email", "") or getattr(user, "email", "") or "",
        "username": user.get_username(),
        "org_key": org_key,
        "tenant": org_key,
    }
    return template_fill(gateway.username_template, values)


def gateway_uses_org_key(gateway) -> bool:
    """Whether the gateway's usernames contain the credential's org key."""
    return bool(template_placeholders(gateway.username_template) & ORG_KEY_PLACEHOLDERS)


def encrypted_value_counts() -> dict[str, dict[str, int]]:
    """For every registered encrypted field, how many values each key id sealed.

    ``{"vault.Credential.consumer_secret_encrypted": {"k1": 3, "k2": 1}, ...}``; values not in the
    vault's format count under ``"unreadable"``; empty values are not counted."""
    from django.apps import apps

    counts: dict[str, dict[str, int]] = {}
    for label, fields in crypto.encrypted_fields().items():
        model = apps.get_model(label)
        for field in fields:
            per_key: dict[str, int] = {}
            for value in (
                model._default_manager.exclude(**{field: ""})
                .values_list(field, flat=True)
                .iterator()
            ):
                if not value:  # NULL in models that allow it: nothing stored
                    continue
                try:
                    kid = crypto.key_id_of(value)
                except crypto.DecryptionError:
                    kid = "unreadable"
                per_key[kid] = per_key.get(kid, 0) + 1
            counts[f"{label}.{field}"] = per_key
    return counts


def unopenable_value_counts() -> dict[str, int]:
    """Per registered encrypted field, how many stored values no configured key can open.

    A key removed from the keyring before ``rotate_encryption_keys`` moved its values makes them
    unreadable; this says so instead of letting ``/healthz`` report healthy keys. One COUNT per
    field, matching the key id in the ciphertext's header (no decryption).
    """
    from django.apps import apps

    prefixes = [f"{crypto.VERSION}:{kid}:" for kid in crypto.keyring().keys]
    counts: dict[str, int] = {}
    for label, fields in crypto.encrypted_fields().items():
        model = apps.get_model(label)
        for field in fields:
            stored = model._default_manager.exclude(**{field: ""}).exclude(
                **{f"{field}__isnull": True}
            )
            for prefix in prefixes:
                stored = stored.exclude(**{f"{field}__startswith": prefix})
            counts[f"{label}.{field}"] = stored.count()
    return counts
