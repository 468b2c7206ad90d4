"""Whatever people and browsers typed shows as text on the audit pages, never as markup: usernames,
team, token and credential names, every detail's key and value, the browser, the request id and
the target id. The rows are built in Python (``audit.describe``), outside the template's
autoescaping, so each field is checked here on the page itself."""

import json
import uuid
from html import escape

import pytest
from django.urls import reverse

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.core.context import RequestContext, bound
from portal.teams import services as teams
from tests.tokens.conftest import acme_credential, acme_gateway, make_issuance  # noqa: F401

pytestmark = pytest.mark.django_db

HOSTILE = "\"><script>alert('x')</script>&amp;"
ESCAPED = "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;amp;"


def _page(client, url, params=None) -> str:
    response = client.get(url, params or {})
    assert response.status_code == 200
    return response.content.decode()


def _assert_only_escaped(html: str) -> None:
    assert "<script>" not in html
    assert "alert('x')" not in html
    assert "&amp;amp;" in html  # an escaped ampersand is escaped once more, not taken as markup


@pytest.fixture
def hostile_token(request):
    issuance = request.getfixturevalue("make_issuance")(access_token="fake-token-a<'\"")
    issuance.name = HOSTILE
    issuance.save(update_fields=["name"])
    return issuance


def test_every_field_of_a_teams_events_shows_as_text(alice_client, acme, bob, hostile_token):
    with bound(RequestContext(ip="203.0.113.9", user_agent=HOSTILE, request_id=HOSTILE)):
        audit.record(
            action=Action.TOKEN_ISSUED,
            actor=bob,
            team=acme,
            target=hostile_token,
            details={
                "name": HOSTILE,
                "credential": HOSTILE,
                "requested_scopes": [HOSTILE, "read"],
                "granted_scopes": ["read"],
                HOSTILE: HOSTILE,
            },
        )
        audit.record(
            action=Action.TOKEN_REQUESTED,
            actor=bob,
            team=acme,
            details={"credential": "App", "grant": HOSTILE, "requested_scopes": [HOSTILE]},
        )
        audit.record(
            action=Action.TOKEN_FAILED,
            outcome=Outcome.FAILURE,
            actor=bob,
            team=acme,
            details={"credential": "App", "reason": HOSTILE},
        )
        audit.record(
            action=Action.MEMBER_ADDED,
            actor_label=HOSTILE,
            team=acme,
            details={"member": HOSTILE, "role": HOSTILE},
        )
        audit.record(
            action=Action.AUDIT_EXPORTED,
            actor=bob,
            team=acme,
            details={"format": HOSTILE, "filters": {HOSTILE: HOSTILE}},
        )
        audit.record(
            action=Action.TEAM_RENAMED,
            actor=bob,
            team=acme,
            target_type="teams.team",
            target_id=HOSTILE,
            details={"from": HOSTILE, "to": HOSTILE},
        )
        audit.record(action="made.up", actor_label=HOSTILE, team=acme, details=[HOSTILE])
    html = _page(alice_client, reverse("audit:log"), {"team": acme.pk})
    _assert_only_escaped(html)
    # The token's name in its link, the credential and the scopes in the sentence.
    assert (
        f"“{ESCAPED}”</a> with <strong>{ESCAPED}</strong> — read (not granted: {ESCAPED})" in html
    )
    assert 'token <span class="mono">…a&lt;&#x27;&quot;</span>' in html
    assert f"requested a token with <strong>App</strong> ({ESCAPED}) — {ESCAPED}" in html
    assert f"failed because {ESCAPED}" in html
    assert (
        f'<span class="actor">{ESCAPED}</span> added <strong>{ESCAPED}</strong> as {ESCAPED}'
        in html
    )
    assert f"exported the audit log as {ESCAPED} (filtered: {ESCAPED} {ESCAPED})" in html
    assert f"renamed the team from <strong>{ESCAPED}</strong> to <strong>{ESCAPED}</strong>" in html
    assert f'<span class="actor">{ESCAPED}</span>: made.up' in html
    # The technical details: the browser, the request id, the target and the details.
    assert f"<dt>Browser</dt><dd>{ESCAPED}</dd>" in html
    assert f"<dt>Request id</dt><dd>{ESCAPED}</dd>" in html
    assert f"<dt>Target</dt><dd>teams.team {ESCAPED}</dd>" in html
    assert f"<dt>{ESCAPED}</dt><dd>{ESCAPED}</dd>" in html
    assert f"<dt>details</dt><dd>{escape(json.dumps([HOSTILE], ensure_ascii=False))}</dd>" in html
    assert f"<dt>Actor</dt><dd>{ESCAPED} (user id —)</dd>" in html


def test_failed_sign_ins_under_a_hostile_name_show_as_text_on_the_account_page(client_for, alice):
    audit.record(
        action=Action.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        actor_label=alice.username,
        details={"username": HOSTILE},
    )
    html = _page(client_for(alice), reverse("audit:account"))
    _assert_only_escaped(html)
    assert f"A sign-in as <strong>{ESCAPED}</strong> failed" in html


def test_team_names_show_as_text_on_the_portal_wide_page(alice, client_for):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    team = teams.team_create(name=HOSTILE, owner=alice)
    audit.record(action=Action.TEAM_DELETED, actor=alice, team=team, details={"name": HOSTILE})
    audit.record(action=Action.LOGOUT, actor=alice, team=uuid.uuid4())  # a team deleted since
    html = _page(client_for(alice), reverse("audit:all"))
    _assert_only_escaped(html)
    assert (
        f'deleted the team <strong>{ESCAPED}</strong> <span class="audit-team">in {ESCAPED}</span>'
        in html
    )
    assert '<span class="audit-team">in a deleted team</span>' in html
