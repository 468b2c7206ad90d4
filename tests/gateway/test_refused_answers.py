"""Token answers the portal refuses although they carry tokens: characters outside RFC 6750,
a token type that is not a plain name, a bad lifetime. The gateway minted those tokens, so the
error carries them (refresh token first) for the caller to revoke - and shows them nowhere."""

from __future__ import annotations

import logging

import pytest

from portal.gateway.client import TokenApiError

from .support import ACCESS, OK_BODY, REFRESH, assert_no_secret, cc_call, password_call

JWT_LIKE = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqb2huIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "token",
    [
        "abc-DEF_123.~+/xyz",
        "bWFjaGluZQ==",
        JWT_LIKE,
        "550e8400-e29b-41d4-a716-446655440000",
    ],
    ids=["all-b64token-characters", "padding", "jwt", "uuid"],
)
def test_tokens_made_of_rfc_6750_characters_are_accepted(httpserver, gateway, token):
    httpserver.expect_request("/token").respond_with_json(
        dict(OK_BODY, access_token=token, refresh_token="r" + token)
    )

    answer = password_call(gateway)

    assert (answer.access_token, answer.refresh_token) == (token, "r" + token)


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_token_type_is_case_insensitive_and_recorded_as_bearer(httpserver, gateway, token_type):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, token_type=token_type))

    assert password_call(gateway).token_type == "Bearer"


def test_another_plain_token_type_is_kept_as_sent(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, token_type="DPoP"))

    assert password_call(gateway).token_type == "DPoP"


BAD_ACCESS_TOKENS = [
    JWT_LIKE + "x$(id)",
    "abc def",
    "abc\ndef",
    "abc\r\nX-Injected: 1",
    "ab=c",
    "tökén",
    "<script>",
]


@pytest.mark.parametrize("access_token", BAD_ACCESS_TOKENS)
def test_an_access_token_outside_rfc_6750_characters_is_refused_and_carried(
    httpserver, gateway, caplog, access_token
):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, access_token=access_token))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    exc = caught.value
    assert exc.kind == "bad_response"
    assert "access_token" in exc.detail
    assert [(u.token_type_hint, u.token) for u in exc.unheld_tokens] == [
        ("refresh_token", REFRESH),
        ("access_token", access_token),
    ]
    for text in (str(exc), repr(exc), exc.message, exc.detail, repr(exc.unheld_tokens)):
        assert access_token not in text and REFRESH not in text
    assert access_token not in caplog.text and REFRESH not in caplog.text


def test_a_refresh_token_outside_rfc_6750_characters_is_refused(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, refresh_token="r t"))

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "refresh_token" in caught.value.detail
    assert [u.token for u in caught.value.unheld_tokens] == ["r t", ACCESS]


@pytest.mark.parametrize(
    "token_type",
    ["Bearer\n", "Bearer\r\nX-Injected: 1", "Bearer x", " Bearer", "Bear\x00er", "Bearer;", ""],
)
def test_a_token_type_that_is_not_a_plain_name_is_refused(httpserver, gateway, token_type):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, token_type=token_type))

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "token_type" in caught.value.detail
    assert [u.token for u in caught.value.unheld_tokens] == [REFRESH, ACCESS]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_in": -1}, "expires_in"),
        ({"expires_in": "soon"}, "expires_in"),
        ({"scope": {"read": True}}, "scope"),
        ({"id_token": 42}, "id_token"),
    ],
)
def test_any_refused_answer_with_tokens_carries_them(httpserver, gateway, change, field):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, **change))

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert field in caught.value.detail
    assert [u.token_type_hint for u in caught.value.unheld_tokens] == [
        "refresh_token",
        "access_token",
    ]
    assert_no_secret(caught.value)


def test_an_application_token_without_refresh_token_carries_only_the_access_token(
    httpserver, gateway
):
    body = {k: v for k, v in OK_BODY.items() if k != "refresh_token"}
    httpserver.expect_request("/token").respond_with_json(dict(body, expires_in=-5))

    with pytest.raises(TokenApiError) as caught:
        cc_call(gateway)

    assert [(u.token_type_hint, u.token) for u in caught.value.unheld_tokens] == [
        ("access_token", ACCESS)
    ]


def test_errors_without_tokens_carry_none(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json({"error": "invalid_grant"}, status=400)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.unheld_tokens == ()
