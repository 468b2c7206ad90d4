"""Bad input to the sandbox gets an OAuth error answer, never a 500 (Django's test client)."""

import pytest

from portal.sandbox.models import SandboxToken

from .conftest import PASSWORD, USERNAME, basic

FORM = "application/x-www-form-urlencoded"
GOOD = f"grant_type=password&username={USERNAME}&password={PASSWORD}"


@pytest.fixture
def post(client, seeded):
    def send(path="/sandbox/token", body=GOOD, content_type=FORM, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", basic())
        return client.generic("POST", path, body, content_type=content_type, **headers)

    return send


def assert_oauth_error(response, status, error):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_the_good_request_works_through_the_test_client_too(post):
    response = post()

    assert response.status_code == 200
    assert "access_token" in response.json()


def test_a_json_body_is_invalid_request(post):
    response = post(body='{"grant_type": "password"}', content_type="application/json")

    assert_oauth_error(response, 400, "invalid_request")


def test_a_huge_body_is_refused_without_a_500(post):
    response = post(body="grant_type=password&x=" + "a" * (3 * 1024 * 1024))

    assert_oauth_error(response, 413, "invalid_request")


def test_too_many_fields_are_refused(post):
    body = GOOD + "".join(f"&f{i}=1" for i in range(1200))

    assert post(body=body).status_code in (400, 413)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "invalid_request"),
        ("grant_type=", "invalid_request"),
        ("username=x", "invalid_request"),
        ("grant_type=password", "invalid_request"),
        (f"grant_type=password&username={USERNAME}", "invalid_request"),
        ("grant_type=refresh_token", "invalid_request"),
        ("grant_type=refresh_token&refresh_token=unknown", "invalid_grant"),
        (GOOD + "&grant_type=password", "invalid_request"),
        ("grant_type=authorization_code&code=x", "unsupported_grant_type"),
        ("grant_type=%ff%fe&\x00=1", "unsupported_grant_type"),
    ],
    ids=[
        "empty",
        "blank-grant",
        "no-grant",
        "no-username",
        "no-password",
        "no-refresh-token",
        "unknown-refresh-token",
        "repeated-parameter",
        "other-grant",
        "garbage",
    ],
)
def test_malformed_token_requests_get_400_with_an_oauth_error(post, body, error):
    assert_oauth_error(post(body=body), 400, error)


def test_two_client_authentication_methods_at_once_are_refused(post):
    response = post(body=GOOD + "&client_id=x&client_secret=y")

    assert_oauth_error(response, 400, "invalid_request")


def test_get_on_the_token_endpoint_is_405(client, seeded):
    response = client.get("/sandbox/token")

    assert_oauth_error(response, 405, "invalid_request")
    assert response["Allow"] == "POST"


def test_revoke_without_a_token_is_invalid_request(post):
    assert_oauth_error(
        post("/sandbox/revoke", body="token_type_hint=access_token"), 400, "invalid_request"
    )


def test_revoke_with_wrong_client_credentials_is_invalid_client(post):
    response = post("/sandbox/revoke", body="token=x", HTTP_AUTHORIZATION=basic(secret="wrong"))

    assert_oauth_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_echo_rejects_post_with_405(client, seeded):
    assert client.post("/sandbox/api/echo").status_code == 405


def test_an_absurdly_long_bearer_token_is_401(client, seeded):
    response = client.get("/sandbox/api/echo", HTTP_AUTHORIZATION="Bearer " + "a." * 9000 + "a")

    assert response.status_code == 401


def test_the_token_endpoint_needs_no_csrf_token(seeded):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/sandbox/token", GOOD, content_type=FORM, HTTP_AUTHORIZATION=basic())

    assert response.status_code == 200
    assert SandboxToken.objects.count() == 1
