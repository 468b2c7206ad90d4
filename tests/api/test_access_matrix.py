"""Who may do what through the API: the pages' rules with the key's team, role and credentials.

Keys: bob's issuer key, carol's viewer key, alice's issuer key (she owns Acme, but a key is at
most an issuer), alice's key for her personal team, mallory's key (Evil), and bob's key
restricted to Acme's *other* credential. Outsiders - and keys whose team or credentials do not
cover the object - get 404; members whose key's role is too low get 403.
"""

import pytest

from portal.teams.models import Role

pytestmark = pytest.mark.django_db

KEYS = ("bob", "carol", "alice", "alice_personal", "mallory", "bob_restricted")


@pytest.fixture
def keys(api_for, cast, acme, evil, credential, other_credential):
    alice, bob, carol, mallory = (cast[n] for n in ("alice", "bob", "carol", "mallory"))
    return {
        "bob": api_for(bob, acme),
        "carol": api_for(carol, acme, Role.VIEWER),
        "alice": api_for(alice, acme),
        "alice_personal": api_for(alice, alice.personal_team),
        "mallory": api_for(mallory, evil),
        "bob_restricted": api_for(bob, acme, credentials=[other_credential]),
    }


@pytest.fixture
def bobs_token(keys, fake_api):
    response = keys["bob"].post(
        "/tokens", {"credential": "Acme app", "grant": "password", "password": "pw"}
    )
    assert response.status_code == 201
    return response.json()["id"]


# key -> expected status, for bob's token (issued with "Acme app").
READ = {
    "bob": 200,
    "carol": 200,
    "alice": 200,
    "alice_personal": 404,
    "mallory": 404,
    "bob_restricted": 404,
}
MANAGE = {
    "bob": None,  # allowed: checked separately (the action happens)
    "carol": 403,
    "alice": 403,  # an issuer key manages its creator's own tokens only
    "alice_personal": 404,
    "mallory": 404,
    "bob_restricted": 404,
}
ISSUE_WITH_ACME_APP = {
    "bob": 201,
    "carol": 403,
    "alice": 201,
    "alice_personal": 404,
    "mallory": 404,
    "bob_restricted": 404,
}


@pytest.mark.parametrize("who", KEYS)
def test_reading_a_token(keys, bobs_token, who):
    response = keys[who].get(f"/tokens/{bobs_token}")
    assert response.status_code == READ[who]


@pytest.mark.parametrize("who", [k for k in KEYS if MANAGE[k]])
@pytest.mark.parametrize("action", ["renew", "revoke"])
def test_renewing_and_revoking_someone_elses_token(keys, bobs_token, fake_api, who, action):
    calls = len(fake_api.calls)
    response = keys[who].post(f"/tokens/{bobs_token}/{action}")
    assert response.status_code == MANAGE[who]
    assert len(fake_api.calls) == calls


@pytest.mark.parametrize("action, status", [("renew", 201), ("revoke", 200)])
def test_the_holder_renews_and_revokes_with_an_issuer_key(keys, bobs_token, action, status):
    assert keys["bob"].post(f"/tokens/{bobs_token}/{action}").status_code == status


@pytest.mark.parametrize("who", KEYS)
def test_issuing_with_a_credential(keys, credential, fake_api, who):
    by_name = keys[who].post("/tokens", {"credential": "Acme app"})
    by_id = keys[who].post("/tokens", {"credential": str(credential.pk)})
    assert by_name.status_code == by_id.status_code == ISSUE_WITH_ACME_APP[who]


def test_a_restricted_key_issues_with_its_own_credential(keys, fake_api):
    response = keys["bob_restricted"].post("/tokens", {"credential": "Acme other app"})
    assert response.status_code == 201


@pytest.mark.parametrize("who", KEYS)
def test_history_and_credentials_show_only_what_the_key_covers(keys, bobs_token, who):
    tokens = {t["id"] for t in keys[who].get("/tokens").json()["items"]}
    names = {c["name"] for c in keys[who].get("/credentials").json()}
    assert (bobs_token in tokens) == (READ[who] == 200)
    expected = {
        "bob": {"Acme app", "Acme other app"},
        "carol": {"Acme app", "Acme other app"},
        "alice": {"Acme app", "Acme other app"},
        "alice_personal": set(),
        "mallory": set(),
        "bob_restricted": {"Acme other app"},
    }
    assert names == expected[who]


def test_a_restricted_key_cannot_filter_by_a_credential_it_does_not_cover(keys, credential):
    response = keys["bob_restricted"].get("/tokens", {"credential": str(credential.pk)})
    assert response.status_code == 422


@pytest.mark.parametrize("who", ["mallory", "alice_personal"])
def test_the_audit_trail_of_another_team_is_never_shown(keys, bobs_token, who):
    events = keys[who].get("/audit", {"limit": 200}).json()["items"]
    assert all(e["target_id"] != bobs_token for e in events)
