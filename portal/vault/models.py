"""Gateways (configured by administrators) and team credentials (stored encrypted).

Ciphertext lives in plain TextFields written and read through ``crypto.seal`` / ``crypto.unseal``;
UUID primary keys exist before insert, so the associated data ``vault.credential:<field>:<pk>``
can be computed when the value is sealed.
"""

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Lower

from portal.gateway.protocol import Grant

# Placeholders a username template may use; everything else in braces is rejected.
USERNAME_PLACEHOLDERS = {
    "email": "your API Store email (your login email when none is set)",
    "username": "your portal username",
    "org_key": "the credential's organization key",
    "tenant": "the credential's organization key (tenant domain)",
}
ORG_KEY_PLACEHOLDERS = frozenset({"org_key", "tenant"})
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def template_placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(template or ""))


def template_fill(template: str, values: dict[str, str]) -> str:
    """``template`` with every ``{name}`` of ``values`` replaced; other braces stay as written.
    Substitution is literal - never ``str.format`` - so a value containing braces cannot expand
    further."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def validate_username_template(template: str) -> None:
    unknown = sorted(template_placeholders(template) - set(USERNAME_PLACEHOLDERS))
    if unknown:
        raise ValidationError(
            "Unknown placeholder(s): %(names)s. Use {email}, {username}, {org_key} or {tenant}.",
            params={"names": ", ".join("{" + n + "}" for n in unknown)},
            code="unknown_placeholder",
        )
    leftover = _PLACEHOLDER_RE.sub("", template or "")
    if "{" in leftover or "}" in leftover:
        raise ValidationError("Unbalanced braces in the username template.", code="braces")
    if not template_placeholders(template) & {"email", "username"}:
        raise ValidationError(
            "The template must contain {email} or {username}: the username names the user.",
            code="no_user",
        )


def validate_gateway_url(value: str) -> None:
    """HTTPS only, unless ``PORTAL_ALLOW_HTTP_GATEWAYS`` (development, sandbox, tests)."""
    URLValidator(schemes=["http", "https"])(value)
    parts = urlsplit(value)
    if parts.username or parts.password:
        raise ValidationError("Gateway URLs must not contain credentials.", code="userinfo")
    if parts.scheme == "http" and not settings.PORTAL_ALLOW_HTTP_GATEWAYS:
        raise ValidationError(
            "Gateway URLs must use https:// (set PORTAL_ALLOW_HTTP_GATEWAYS only for development).",
            code="https_required",
        )


def validate_ca_bundle(value: str) -> None:
    if value and not Path(value).is_file():
        raise ValidationError("No CA bundle file at %(path)s.", params={"path": value}, code="ca")


class ClientAuth(models.TextChoices):
    BASIC = "basic", "HTTP Basic, form-encoded (RFC 6749 §2.3.1)"
    BASIC_RAW = "basic_raw", "HTTP Basic, raw key:secret (as WSO2's docs)"
    CLIENT_SECRET_POST = "client_secret_post", "Key and secret in the request body"


class Gateway(models.Model):
    """A WSO2 Token API endpoint. Only administrators create these; users only choose one.

    The Token API client duck-types it through ``token_url``, ``revoke_url``, ``client_auth``,
    ``ca_bundle`` ("" = the default CA store) and ``introspection_url`` ("" = the gateway offers
    no RFC 7662 introspection).
    """

    name = models.CharField(max_length=80, unique=True)
    token_url = models.CharField("token URL", max_length=500)
    revoke_url = models.CharField("revoke URL", max_length=500)
    # Optional ("" when the gateway has none; a CharField, so empty rather than NULL).
    introspection_url = models.CharField(
        "introspection URL",
        max_length=500,
        blank=True,
        default="",
        help_text="RFC 7662 endpoint telling whether a token is still active, if the gateway "
        "offers one (WSO2 API Manager: https://<host>:9443/oauth2/introspect).",
    )
    username_template = models.CharField(
        max_length=200,
        default="{username}",
        validators=[validate_username_template],
        help_text="How the upstream username is built: {email}@{org_key} for API Cloud, "
        "{username} or {username}@{tenant} for self-hosted API Manager.",
    )
    client_auth = models.CharField(
        "client authentication", max_length=20, choices=ClientAuth.choices, default=ClientAuth.BASIC
    )
    ca_bundle = models.CharField(
        "CA bundle path",
        max_length=500,
        blank=True,
        validators=[validate_ca_bundle],
        help_text="A PEM file on the server to trust instead of the default CA store.",
    )
    default_token_lifetime = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds an access token lives when the gateway's answer does not say "
        "(expires_in is optional in OAuth2). Blank: unknown, shown as such.",
    )
    is_sandbox = models.BooleanField(default=False, help_text="The built-in demo gateway.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        for field in ("token_url", "revoke_url", "introspection_url"):
            if field == "introspection_url" and not self.introspection_url:
                continue
            try:
                validate_gateway_url(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)


class Credential(models.Model):
    """A team's consumer key, secret and org key for one gateway - all three stored encrypted.

    ``consumer_key_hint`` is the display mask (``wU62…AbAa``) written with the key, so lists never
    decrypt. An archived credential stays readable for history but issues no tokens.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="credentials")
    name = models.CharField(max_length=80)
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="credentials")
    consumer_key_encrypted = models.TextField()
    consumer_secret_encrypted = models.TextField()
    org_key_encrypted = models.TextField(blank=True)
    consumer_key_hint = models.CharField(max_length=20)
    default_scopes = models.JSONField(default=list, blank=True)
    allow_password = models.BooleanField("password grant", default=True)
    allow_client_credentials = models.BooleanField("client credentials grant", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            # Archived names may be reused; active ones are unique per team regardless of case.
            models.UniqueConstraint(
                "team",
                Lower("name"),
                condition=models.Q(archived_at__isnull=True),
                name="vault_credential_name_unique_ci",
            ),
            models.CheckConstraint(
                condition=models.Q(allow_password=True) | models.Q(allow_client_credentials=True),
                name="vault_credential_some_grant",
            ),
        ]
        indexes = [models.Index(fields=["team", "archived_at"], name="vault_cred_team_archived")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def masked_key(self) -> str:
        return self.consumer_key_hint

    @property
    def allowed_grants(self) -> list[str]:
        grants = []
        if self.allow_password:
            grants.append(Grant.PASSWORD.value)
        if self.allow_client_credentials:
            grants.append(Grant.CLIENT_CREDENTIALS.value)
        return grants

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.allowed_grants

    @property
    def scopes_display(self) -> str:
        return " ".join(self.default_scopes or [])
