"""Key rotation: every registered encrypted value sealed again under the active key, in short
batches, resumable, audited once per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.vault import crypto, services


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
                    services.decrypt_record_failure(
                        instance=instance, field_name=field_name, actor=None
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
