"""The sandbox's JWTs, scopes and seeding, below the HTTP layer."""

import pytest

from portal.sandbox import keys, services
from portal.sandbox.models import SandboxApplication, SandboxUser


def test_a_jwt_round_trips_and_is_deterministic():
    claims = {"sub": "u", "exp": 5, "jti": "j"}

    token = keys.jwt_encode(claims)

    assert keys.jwt_decode(token) == claims
    assert keys.jwt_encode(dict(reversed(list(claims.items())))) == token


def test_a_jwt_signed_under_another_secret_key_is_refused(settings):
    token = keys.jwt_encode({"sub": "u"})
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789"

    assert keys.jwt_decode(token) is None


def test_the_signing_key_is_not_the_secret_key_itself(settings):
    import base64
    import hashlib
    import hmac

    token = keys.jwt_encode({"sub": "u"})
    head, payload, _ = token.split(".")
    naive = hmac.new(settings.SECRET_KEY.encode(), f"{head}.{payload}".encode(), hashlib.sha256)

    assert base64.urlsafe_b64encode(naive.digest()).rstrip(b"=").decode() != token.split(".")[2]


def test_demo_values_are_deterministic_per_installation_and_differ_between_them(settings):
    first = (keys.demo_consumer_key(), keys.demo_consumer_secret())
    assert first == (keys.demo_consumer_key(), keys.demo_consumer_secret())
    assert len(first[0]) == 28 and first[0].isalnum()
    assert len(first[1]) == 32 and first[1].isalnum()

    settings.SECRET_KEY = "a-different-installation-secret-key-9876543210"

    assert keys.demo_consumer_key() != first[0]
    assert keys.demo_consumer_secret() != first[1]


def seed(**overrides):
    values = dict(
        consumer_key="Key1234567890",
        consumer_secret="secret-one",
        username="demo@example.com@demoorg",
        password="password-one",
    )
    values.update(overrides)
    return services.sandbox_seed(**values)


@pytest.mark.django_db
def test_seeding_twice_changes_nothing_the_second_time():
    first = seed()
    second = seed()

    assert first.changes == [
        "created application 'Sandbox demo app'",
        "created user 'demo@example.com@demoorg'",
    ]
    assert second.changes == []
    assert SandboxApplication.objects.count() == 1
    assert SandboxUser.objects.count() == 1


@pytest.mark.django_db
def test_seeding_with_a_new_secret_or_password_updates_them():
    seed()

    result = seed(consumer_secret="secret-two", password="password-two")

    app = SandboxApplication.objects.get()
    assert app.consumer_secret_hash == keys.secret_hash("secret-two")
    assert services.application_authenticate(pairs=[("Key1234567890", "secret-two")]) == app
    assert any("consumer_secret" in c for c in result.changes)
    assert any("password" in c for c in result.changes)


@pytest.mark.django_db
def test_application_authentication_refuses_a_wrong_secret():
    seed()

    with pytest.raises(services.OAuthError) as caught:
        services.application_authenticate(pairs=[("Key1234567890", "secret-two")])

    assert (caught.value.status, caught.value.error) == (401, "invalid_client")
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic")
