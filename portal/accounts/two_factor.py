"""Two-factor authentication for portal accounts: TOTP (django-otp) plus recovery codes.

Writes here follow the services rules (keyword-only, ``actor``/``user``, audited in the same
transaction). A person has 2FA when they have a *confirmed* TOTP device: a device becomes
confirmed only after a first code from the authenticator app was verified, and recovery codes
(a django-otp static device, shown once) are created at the same moment.
"""

from __future__ import annotations

import functools
import re

import segno
from django.conf import settings
from django.db import connection, transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit import services as audit
from portal.audit.models import Action, Outcome

RECOVERY_CODE_COUNT = 10
_TOTP_CODE = re.compile(r"^\d{6}$")


def is_enabled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@functools.cache
def _teams_requiring_2fa_sql() -> str:
    """The names of a user's teams that require 2FA, in name order (one parameter: the user)."""
    from portal.teams.models import Membership, Team

    quote = connection.ops.quote_name
    team, membership = quote(Team._meta.db_table), quote(Membership._meta.db_table)
    join = f"{team} t JOIN {membership} m ON m.team_id = t.id"
    return f"SELECT t.name FROM {join} WHERE m.user_id = %s AND t.require_2fa ORDER BY t.name"  # noqa: S608


def required_for(user) -> list:
    """The reasons this account must have 2FA: names of teams that require it, and "staff"."""
    # Asked on every request of a person without 2FA: fixed SQL (see ``core.fixed_sql``).
    with connection.cursor() as cursor:
        cursor.execute(_teams_requiring_2fa_sql(), [user.pk])
        reasons = [name for (name,) in cursor.fetchall()]
    if user.is_staff and settings.PORTAL_REQUIRE_2FA_FOR_STAFF:
        reasons.append("staff")
    return reasons


def _base32_secret(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


@transaction.atomic
def totp_enrolment_start(*, user) -> TOTPDevice:
    """The unconfirmed device to show as a QR code (the same one until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def enrolment_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code: made here, no CDN, no script, no style."""
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(scale=5, dark="#000", light="#fff", title="QR code for your app")


def enrolment_secret(device: TOTPDevice) -> str:
    """The secret as text, in groups of four, for apps that cannot scan."""
    secret = _base32_secret(device)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_enrolment_confirm(*, user, device_id: int, code: str) -> list[str] | None:
    """Confirms the device when ``code`` is right and returns the new recovery codes (the only
    time they are shown); None when the code is wrong."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, pk=device_id, confirmed=False)
        .first()
    )
    if device is None or not _TOTP_CODE.match(code) or not device.verify_token(code):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _recovery_codes_replace(user=user)
    audit.record(action=Action.TWO_FACTOR_ENABLED, actor=user, target=user)
    audit.record(
        action=Action.RECOVERY_CODES_CREATED,
        actor=user,
        target=user,
        details={"count": len(codes)},
    )
    return codes


def _recovery_codes_replace(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def normalize_code(code: str) -> str:
    return "".join(code.split()).lower()


def code_verify(*, user, code: str):
    """The device that accepts ``code`` (a TOTP code or an unused recovery code, which is then
    used up), or None. A recovery code used is audited. Raises nothing for a wrong code: the
    caller counts it (lockout) and audits it (``code_failure_record``)."""
    code = normalize_code(code)
    with transaction.atomic():
        if _TOTP_CODE.match(code):
            device = (
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            if device is not None and device.verify_token(code):
                return device
            return None
        device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(code):
            audit.record(
                action=Action.RECOVERY_CODE_USED,
                actor=user,
                target=user,
                details={"left": device.token_set.count()},
            )
            return device
    return None


def code_failure_record(*, user, purpose: str) -> None:
    audit.record(
        action=Action.TWO_FACTOR_FAILED,
        outcome=Outcome.FAILURE,
        actor_label=user.get_username(),
        target=user,
        details={"purpose": purpose},
    )


@transaction.atomic
def two_factor_disable(*, user) -> None:
    """Removes every device (app and recovery codes). The caller verified a code first."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(action=Action.TWO_FACTOR_DISABLED, actor=user, target=user)


def recovery_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
