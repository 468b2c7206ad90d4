"""The sandbox gateway through the live server, spoken to in raw HTTP like curl would."""

import base64
import json

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher

from portal.sandbox import keys, services
from portal.sandbox.models import SandboxApplication, SandboxToken, SandboxUser

from .conftest import KEY, PASSWORD, SECRET, USERNAME, basic


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_contract_pages_curl_request_gets_a_token(raw):
    # curl -d "grant_type=password&username=…&password=…&scope=read update"
    #   -H "Authorization: Basic $(printf %s 'KEY:SECRET' | base64 -w0)"
    #   -H "Content-Type: application/x-www-form-urlencoded" <gateway>/token
    body = f"grant_type=password&username={USERNAME}&password={PASSWORD}&scope=read update"
    authorization = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()

    answer = raw.request(
        "POST",
        "/sandbox/token",
        body,
        {
            "Authorization": authorization,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "curl/8.5.0",
            "Accept": "*/*",
        },
    )

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    data = answer.json()
    assert set(data) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["scope"] == "read update"
    claims = claims_of(data["access_token"])
    assert claims["sub"] == USERNAME
    assert claims["scope"] == "read update"
    assert claims["consumerKey"] == KEY
    assert claims["keytype"] == "PRODUCTION"
    assert claims["exp"] - claims["iat"] == 3600
    assert {"jti", "iss"} <= set(claims)


def test_the_token_works_at_the_echo_api(raw, password_token):
    answer = raw.echo(password_token["access_token"])

    assert answer.status == 200
    data = answer.json()
    assert data["user"] == USERNAME
    assert data["scopes"] == ["read", "update"]
    assert data["consumer_key"] == KEY
    assert 3590 <= data["expires_in"] <= 3600
    assert data["expires_at"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic abc", "Bearer a.b.c"],
    ids=["missing", "empty-bearer", "malformed", "wrong-scheme", "garbage-jwt"],
)
def test_echo_without_a_valid_token_is_401_with_a_bearer_challenge(raw, authorization):
    answer = raw.echo(authorization=authorization)

    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["code"] in {"900901", "900902"}


def test_echo_refuses_a_token_with_a_forged_signature_or_alg_none(raw, password_token):
    header, payload, signature = password_token["access_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()

    assert raw.echo(forged).status == 401
    assert raw.echo(f"{none_header}.{payload}.").status == 401


def test_refresh_rotates_and_the_old_refresh_token_then_gets_invalid_grant(raw, password_token):
    old_refresh = password_token["refresh_token"]

    renewed = raw.token(f"grant_type=refresh_token&refresh_token={old_refresh}")
    again = raw.token(f"grant_type=refresh_token&refresh_token={old_refresh}")

    assert renewed.status == 200
    new = renewed.json()
    assert new["refresh_token"] != old_refresh
    assert new["access_token"] != password_token["access_token"]
    assert new["scope"] == "read update"
    assert again.status == 400
    assert again.json()["error"] == "invalid_grant"
    assert raw.echo(password_token["access_token"]).status == 401
    assert raw.echo(new["access_token"]).status == 200


def test_refresh_asking_for_a_scope_beyond_the_original_is_invalid_scope(raw, password_token):
    refresh = password_token["refresh_token"]

    beyond = raw.token(f"grant_type=refresh_token&refresh_token={refresh}&scope=read write")
    narrower = raw.token(f"grant_type=refresh_token&refresh_token={refresh}&scope=read")

    assert beyond.status == 400
    assert beyond.json()["error"] == "invalid_scope"
    assert narrower.status == 200
    assert narrower.json()["scope"] == "read"


def test_revoking_the_access_token_makes_echo_answer_401(raw, password_token):
    access = password_token["access_token"]

    answer = raw.revoke(f"token={access}&token_type_hint=access_token")

    assert answer.status == 200
    assert answer.body == b""
    assert answer.headers["RevokedAccessToken"] == access
    assert answer.headers["AuthorizedUser"] == USERNAME
    assert raw.echo(access).status == 401
    refreshed = raw.token(
        f"grant_type=refresh_token&refresh_token={password_token['refresh_token']}"
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_revoking_the_refresh_token_revokes_its_access_token_too(raw, password_token):
    refresh = password_token["refresh_token"]

    answer = raw.revoke(f"token={refresh}&token_type_hint=refresh_token")

    assert answer.status == 200
    assert answer.headers["RevokedRefreshToken"] == refresh
    assert answer.headers["RevokedAccessToken"] == password_token["access_token"]
    assert raw.echo(password_token["access_token"]).status == 401


def test_revoking_an_unknown_or_already_revoked_token_is_200_without_headers(raw, password_token):
    unknown = raw.revoke("token=no-such-token")
    raw.revoke(f"token={password_token['access_token']}")
    twice = raw.revoke(f"token={password_token['access_token']}")

    for answer in (unknown, twice):
        assert answer.status == 200
        assert answer.body == b""
        assert "RevokedAccessToken" not in answer.headers
        assert "RevokedRefreshToken" not in answer.headers


def test_revoking_another_applications_token_revokes_nothing(raw, password_token):
    services.sandbox_seed(
        consumer_key="OtherKey",
        consumer_secret="other-secret-value",
        username="x@y@z",
        password="another-password",
        app_name="Other app",
    )

    answer = raw.revoke(
        f"token={password_token['access_token']}",
        authorization=basic("OtherKey", "other-secret-value"),
    )

    assert answer.status == 200
    assert "RevokedAccessToken" not in answer.headers
    assert raw.echo(password_token["access_token"]).status == 200


@pytest.mark.parametrize(
    "authorization",
    [basic(KEY, "wrong-secret"), basic("UnknownKey", SECRET), "Basic !!notbase64", "Bearer x", ""],
    ids=["wrong-secret", "unknown-key", "bad-base64", "wrong-scheme", "none"],
)
def test_wrong_client_credentials_are_401_invalid_client_with_a_basic_challenge(raw, authorization):
    body = f"grant_type=password&username={USERNAME}&password={PASSWORD}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = authorization

    answer = raw.request("POST", "/sandbox/token", body, headers)

    assert answer.status == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client credentials are invalid.",
    }
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_an_inactive_application_is_invalid_client(raw):
    SandboxApplication.objects.filter(consumer_key=KEY).update(active=False)

    answer = raw.token(f"grant_type=password&username={USERNAME}&password={PASSWORD}")

    assert answer.status == 401
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("username", "password"),
    [(USERNAME, "wrong-password"), ("nobody@example.com@johnsorg", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_username_or_password_is_400_invalid_grant(raw, username, password):
    answer = raw.token(f"grant_type=password&username={username}&password={password}")

    assert answer.status == 400
    assert answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("read admin", "read"),
        ("admin", "default"),
        ("write", "default"),  # the application may grant it, the user may not have it
        ("", "default"),
        ("update read read", "read update"),
    ],
)
def test_scopes_the_user_may_not_have_are_silently_dropped(raw, requested, granted):
    scope = f"&scope={requested}" if requested else ""

    answer = raw.token(f"grant_type=password&username={USERNAME}&password={PASSWORD}{scope}")

    assert answer.status == 200
    assert answer.json()["scope"] == granted


def test_openid_scope_adds_an_id_token(raw):
    answer = raw.token(
        f"grant_type=password&username={USERNAME}&password={PASSWORD}&scope=openid read"
    )

    data = answer.json()
    assert data["scope"] == "openid read"
    assert claims_of(data["id_token"])["sub"] == USERNAME


def test_client_credentials_has_no_refresh_token(raw):
    answer = raw.token("grant_type=client_credentials&scope=write admin")

    assert answer.status == 200
    data = answer.json()
    assert "refresh_token" not in data
    assert data["scope"] == "write"
    assert claims_of(data["access_token"])["sub"] == "admin"
    assert raw.echo(data["access_token"]).json()["grant_type"] == "client_credentials"


def test_a_new_token_for_the_same_user_and_scopes_revokes_the_previous_one(raw, password_token):
    # WSO2 with JWT tokens does this; the portal warns about it before renewing.
    body = f"grant_type=password&username={USERNAME}&password={PASSWORD}&scope=read update"

    second = raw.token(body).json()

    assert raw.echo(password_token["access_token"]).status == 401
    assert raw.echo(second["access_token"]).status == 200


def test_a_grant_the_application_does_not_allow_is_unauthorized_client(raw):
    SandboxApplication.objects.filter(consumer_key=KEY).update(grant_types="password refresh_token")

    answer = raw.token("grant_type=client_credentials")
    unknown = raw.token("grant_type=implicit")

    assert answer.status == 400
    assert answer.json()["error"] == "unauthorized_client"
    assert unknown.status == 400
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_an_expired_access_token_gets_401(raw, settings):
    settings.PORTAL_SANDBOX_ACCESS_TOKEN_LIFETIME = 0
    token = raw.token(f"grant_type=password&username={USERNAME}&password={PASSWORD}").json()

    assert token["expires_in"] == 0
    assert raw.echo(token["access_token"]).status == 401


def test_an_expired_refresh_token_gets_invalid_grant(raw, settings):
    settings.PORTAL_SANDBOX_REFRESH_TOKEN_LIFETIME = 0
    token = raw.token(f"grant_type=password&username={USERNAME}&password={PASSWORD}").json()

    answer = raw.token(f"grant_type=refresh_token&refresh_token={token['refresh_token']}")

    assert answer.status == 400
    assert answer.json()["error"] == "invalid_grant"


def test_secrets_are_stored_only_as_hashes(raw, password_token):
    app = SandboxApplication.objects.get(consumer_key=KEY)
    row = SandboxToken.objects.get()

    assert SECRET not in app.consumer_secret_hash
    assert app.consumer_secret_hash == keys.secret_hash(SECRET)
    assert seeded_password_is_hashed()
    assert row.refresh_token_hash == keys.secret_hash(password_token["refresh_token"])
    stored = json.dumps([row.claims, row.scopes, row.refresh_token_hash])
    assert password_token["refresh_token"] not in stored
    assert password_token["access_token"] not in stored


def seeded_password_is_hashed() -> bool:
    stored = SandboxUser.objects.get(username=USERNAME).password
    identify_hasher(stored)  # a Django password hash (whichever hasher the settings name first)
    return PASSWORD not in stored and check_password(PASSWORD, stored)
