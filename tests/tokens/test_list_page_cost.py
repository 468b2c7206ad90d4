"""What a list page costs the database: reading the history or the audit log writes nothing and
reads each thing once, however many rows the page shows and wherever it is in the list.

The figures of these pages at a million rows come from ``benchmarks/issue.py history`` and
``benchmarks/audit.py``; these tests keep the statements they count from creeping back.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.tokens.models import Status

HISTORY = reverse("tokens:history")
AUDIT = reverse("audit:log")
WRITES = ("INSERT", "UPDATE", "DELETE")


def statements(client, url, params) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def membership_reads(sql: list[str]) -> list[str]:
    """Statements that read the user's own memberships (not the team's member list)."""
    return [s for s in sql if 'FROM "teams_membership"' in s or 'require_2fa" FROM' in s]


@pytest.fixture
def thirty(make_issuance):
    """More than a page of tokens, so that the page has an Older link."""
    start = timezone.now() - timedelta(days=1)
    return [
        make_issuance(issued_at=start - timedelta(minutes=n), status=Status.REVOKED)
        for n in range(30)
    ]


@pytest.mark.parametrize("url", [HISTORY, AUDIT])
def test_reading_a_list_page_again_writes_nothing(url, alice_client, acme, thirty):
    params = {"team": str(acme.pk)}
    alice_client.get(url, params)  # the first visit may remember the team in the session
    writes = [s for s in statements(alice_client, url, params) if s.lstrip().startswith(WRITES)]
    assert writes == []


@pytest.mark.parametrize("url", [HISTORY, AUDIT])
def test_a_list_page_reads_the_users_memberships_once(url, alice_client, acme, thirty):
    params = {"team": str(acme.pk)}
    alice_client.get(url, params)
    assert len(membership_reads(statements(alice_client, url, params))) == 1


def test_a_history_page_costs_the_same_few_statements_at_any_depth(alice_client, acme, thirty):
    params = {"team": str(acme.pk)}
    alice_client.get(HISTORY, params)
    first = statements(alice_client, HISTORY, params)
    html = alice_client.get(HISTORY, params).content.decode()
    older = html[html.index('href="?', html.index("Older") - 400) + len('href="?') :]
    older = older[: older.index('"')].replace("&amp;", "&")
    second = statements(alice_client, f"{HISTORY}?{older}", {})
    # Session, user, memberships, the filter's credentials and members, the page, whether a
    # newer page exists and the renewals of the page's rows; the first page adds its charts.
    assert len(second) <= 8, second
    assert len(first) <= len(second) + 3


def test_an_audit_page_costs_a_few_statements(alice_client, acme, thirty):
    params = {"team": str(acme.pk)}
    alice_client.get(AUDIT, params)
    # Session, user, memberships, the people of the filter's list, the page, and the tokens
    # its sentences name.
    assert len(statements(alice_client, AUDIT, params)) <= 6


def test_a_second_team_switch_by_link_is_still_remembered(alice_client, acme, alice):
    """Writing the current team only when it changes still moves the header to the team read."""
    from portal.teams.access import CURRENT_TEAM_SESSION_KEY

    personal = next(m.team for m in alice.memberships.select_related("team") if m.team != acme)
    alice_client.get(HISTORY, {"team": str(personal.pk)})
    assert alice_client.session[CURRENT_TEAM_SESSION_KEY] == str(personal.pk)
    alice_client.get(HISTORY, {"team": str(acme.pk)})
    assert alice_client.session[CURRENT_TEAM_SESSION_KEY] == str(acme.pk)
