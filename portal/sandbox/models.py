"""The sandbox gateway's own tables: its applications, users and issued tokens.

Nothing here is a portal credential: these rows play the part of WSO2's key manager database for
demos and tests. Secrets are still kept only as hashes - the consumer secret as SHA-256 (it is a
long random value), the user password with Django's password hashers, refresh tokens as SHA-256.
"""

from django.db import models


def split_words(value: str) -> list[str]:
    return [w for w in value.split() if w]


class SandboxApplication(models.Model):
    """An API Store application: consumer key, hashed consumer secret, grants and scopes."""

    name = models.CharField(max_length=100, unique=True)
    consumer_key = models.CharField(max_length=100, unique=True)
    consumer_secret_hash = models.CharField(max_length=64)
    # Space-separated, like OAuth scope strings.
    grant_types = models.CharField(
        max_length=200, default="password refresh_token client_credentials"
    )
    scopes = models.CharField(max_length=500, default="default")
    # Whose name client-credentials tokens carry as ``sub`` (WSO2: the application's owner).
    owner = models.CharField(max_length=254, default="admin")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def grant_type_list(self) -> list[str]:
        return split_words(self.grant_types)

    @property
    def scope_list(self) -> list[str]:
        return split_words(self.scopes)


class SandboxUser(models.Model):
    """A gateway user in WSO2 style (``demo@example.com@demoorg``) and the scopes it may get."""

    username = models.CharField(max_length=254, unique=True)
    password = models.CharField(max_length=256)
    scopes = models.CharField(max_length=500, default="default")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.username

    @property
    def scope_list(self) -> list[str]:
        return split_words(self.scopes)


class SandboxToken(models.Model):
    """One issued access token (and its refresh token, if any).

    The access token itself is never stored: it is a JWT signed with the sandbox key, so ``claims``
    (public anyway - they are in the token) are enough to recognise it and to name it in the
    ``RevokedAccessToken`` header. The refresh token is stored only as its SHA-256.
    """

    jti = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        SandboxApplication, on_delete=models.CASCADE, related_name="tokens"
    )
    user = models.ForeignKey(
        SandboxUser, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    grant_type = models.CharField(max_length=40)
    scopes = models.CharField(max_length=500)
    claims = models.JSONField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    refresh_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # Revoked by /revoke, by a refresh (rotation) or by a newer token for the same app+user+scopes.
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return self.jti

    @property
    def scope_list(self) -> list[str]:
        return split_words(self.scopes)
