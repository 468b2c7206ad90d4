"""The team's token history: access, table contents, filters, keyset pages, CSV export, detail."""

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.teams.access import CURRENT_TEAM_SESSION_KEY
from portal.tokens import selectors
from portal.tokens.models import Grant, Issuance, Status
from portal.vault import services as vault
from tests import factories

HISTORY = reverse("tokens:history")
EXPORT = reverse("tokens:history_export")
DETAIL_ID = re.compile(r'href="/tokens/([0-9a-f-]{36})/"')


def history(client, team, **params):
    return client.get(HISTORY, {"team": str(team.pk), **params})


def export(client, team, **params):
    response = client.get(EXPORT, {"team": str(team.pk), **params})
    body = b"".join(response.streaming_content).decode() if response.streaming else ""
    return response, body


def csv_rows(body: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body)))


def ids_on(response) -> list[str]:
    """Issuance ids in table order (each row links to its detail page twice)."""
    return list(dict.fromkeys(DETAIL_ID.findall(response.content.decode())))


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_every_member_of_acme_reads_its_whole_history(who, cast, client_for, make_issuance, alice):
    mine = make_issuance(issued_by=alice)
    bobs = make_issuance()
    response = history(client_for(cast[who]), mine.team)
    assert response.status_code == 200
    assert set(ids_on(response)) == {str(mine.pk), str(bobs.pk)}


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_every_member_of_acme_reads_detail_and_export(who, cast, client_for, make_issuance):
    issuance = make_issuance()
    client = client_for(cast[who])
    assert client.get(reverse("tokens:detail", args=[issuance.pk])).status_code == 200
    response, body = export(client, issuance.team)
    assert response.status_code == 200
    assert str(issuance.pk) in body


def test_outsider_gets_404_for_acme_history_even_with_team_parameter(
    cast, client_for, make_issuance, acme
):
    make_issuance()
    assert history(client_for(cast["mallory"]), acme).status_code == 404


def test_outsider_gets_404_for_acme_export(cast, client_for, make_issuance, acme):
    make_issuance()
    response, body = export(client_for(cast["mallory"]), acme)
    assert response.status_code == 404
    assert "fake" not in body


def test_outsider_gets_404_for_acme_token_detail(cast, client_for, make_issuance):
    issuance = make_issuance()
    response = client_for(cast["mallory"]).get(reverse("tokens:detail", args=[issuance.pk]))
    assert response.status_code == 404


def test_outsider_history_shows_only_their_own_team(cast, client_for, make_issuance):
    make_issuance()
    response = client_for(cast["mallory"]).get(HISTORY)
    assert response.status_code == 200
    assert "Evil" in response.content.decode() or "mallory" in response.content.decode()
    assert ids_on(response) == []


def test_malformed_team_parameter_is_404_not_500(alice_client, acme):
    assert alice_client.get(HISTORY, {"team": "not-a-uuid"}).status_code == 404
    assert alice_client.get(EXPORT, {"team": "not-a-uuid"}).status_code == 404


def test_anonymous_visitor_is_sent_to_login(client, acme):
    response = client.get(HISTORY)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_history_without_team_parameter_shows_the_team_chosen_in_the_switcher(
    alice, acme, client_for, make_issuance
):
    issuance = make_issuance()
    client = client_for(alice)
    assert ids_on(client.get(HISTORY)) == []  # her personal team first
    session = client.session
    session[CURRENT_TEAM_SESSION_KEY] = str(acme.pk)
    session.save()
    assert ids_on(client.get(HISTORY)) == [str(issuance.pk)]


# --- The table --------------------------------------------------------------------------------


def test_row_shows_who_what_when_and_last_four(alice_client, make_issuance, acme):
    issuance = make_issuance(
        access_token="fake-token-endsAbCd",
        upstream_username="bob@acme.example",
        grant_type=Grant.CLIENT_CREDENTIALS,
    )
    html = history(alice_client, acme).content.decode()
    assert "bob@acme.example" in html
    assert "Acme sandbox" in html
    assert "Client credentials" in html
    assert "…AbCd" in html
    # Expiry as a relative time, the exact one in the title and the datetime attribute.
    exact = timezone.localtime(issuance.expires_at)
    assert f'datetime="{exact.isoformat()}" title="{exact:%Y-%m-%d %H:%M:%S %Z}"' in html


def test_scopes_that_were_not_granted_are_highlighted(alice_client, make_issuance, acme):
    make_issuance(requested_scopes=["read", "admin"], granted_scopes=["read"])
    html = history(alice_client, acme).content.decode()
    assert 'class="scope scope-missing">admin</code>' in html
    assert "did not grant admin" in re.sub(r"<[^>]+>", "", html)


def test_equal_scopes_are_not_flagged(alice_client, make_issuance, acme):
    make_issuance(requested_scopes=["read"], granted_scopes=["read"])
    html = history(alice_client, acme).content.decode()
    assert "scope-missing" not in html
    assert "did not grant" not in html


def test_status_badges_cover_expiry_and_failure_reason(alice_client, make_issuance, acme):
    now = timezone.now()
    make_issuance(expires_at=now - timedelta(minutes=1))
    make_issuance(expires_at=now + timedelta(minutes=5))
    make_issuance(expires_at=now + timedelta(hours=2))
    make_issuance(status=Status.REVOKED, access_token="")
    make_issuance(
        status=Status.FAILED,
        access_token="",
        failure_kind="invalid_grant",
        failure_message="The API Store password was wrong.",
    )
    html = history(alice_client, acme).content.decode()
    for text in ("Expired", "Expiring soon", "Active", "Revoked", "Failed"):
        assert f">{text}</span>" in html, text
    assert "The API Store password was wrong." in html


def test_renewal_chain_links_both_ways(alice_client, make_issuance, acme):
    old = make_issuance(status=Status.RENEWED, access_token="")
    new = make_issuance(renewed_from=old, grant_type=Grant.REFRESH_TOKEN)
    html = history(alice_client, acme).content.decode()
    assert f'href="/tokens/{old.pk}/">↖ renewed from' in html
    assert f'href="/tokens/{new.pk}/">renewed by' in html


def test_owner_may_select_every_live_token_for_bulk_revoke(
    alice_client, make_issuance, acme, alice
):
    bobs = make_issuance()
    hers = make_issuance(issued_by=alice)
    make_issuance(status=Status.REVOKED, access_token="")
    html = history(alice_client, acme).content.decode()
    assert f'action="{reverse("tokens:revoke_bulk")}"' in html
    boxes = re.findall(r'name="issuances" value="([0-9a-f-]+)"', html)
    assert set(boxes) == {str(bobs.pk), str(hers.pk)}
    assert "Revoke selected</button>" in html
    assert reverse("tokens:revoke", args=[bobs.pk]) in html


def test_issuer_may_select_only_own_tokens(client_for, bob, alice, make_issuance, acme):
    bobs = make_issuance()
    hers = make_issuance(issued_by=alice)
    html = history(client_for(bob), acme).content.decode()
    boxes = re.findall(r'name="issuances" value="([0-9a-f-]+)"', html)
    assert boxes == [str(bobs.pk)]
    assert reverse("tokens:revoke", args=[hers.pk]) not in html


def test_viewer_gets_no_checkboxes_or_action_links(client_for, carol, make_issuance, acme):
    issuance = make_issuance(refresh_token="fake-rt-123")
    html = history(client_for(carol), acme).content.decode()
    assert 'name="issuances"' not in html
    assert "Revoke selected" not in html
    assert reverse("tokens:revoke", args=[issuance.pk]) not in html
    assert reverse("tokens:renew", args=[issuance.pk]) not in html


def test_renew_link_only_for_tokens_with_a_refresh_token(alice_client, make_issuance, acme):
    with_rt = make_issuance(refresh_token="fake-rt-123")
    without = make_issuance()
    html = history(alice_client, acme).content.decode()
    assert reverse("tokens:renew", args=[with_rt.pk]) in html
    assert reverse("tokens:renew", args=[without.pk]) not in html


def test_empty_history_points_to_generate(alice_client, acme):
    html = history(alice_client, acme).content.decode()
    assert "No tokens have been requested in Acme yet." in html
    assert reverse("tokens:generate") in html
    assert "<table" not in html


def test_filters_that_match_nothing_say_so(alice_client, make_issuance, acme):
    make_issuance()
    html = history(alice_client, acme, status="revoked").content.decode()
    assert "No tokens match these filters." in html


# --- Filters ----------------------------------------------------------------------------------


def test_filter_by_credential_includes_archived_ones(
    alice_client, alice, acme, acme_gateway, make_issuance
):
    other = factories.credential_create(
        team=acme,
        actor=alice,
        gateway=acme_gateway,
        name="Old app",
        consumer_key="ck-old-0123456789",
        consumer_secret="cs-old-0123456789",
    )
    on_other = make_issuance(credential=other)
    make_issuance()
    vault.credential_archive(credential=other, actor=alice)
    response = history(alice_client, acme, credential=str(other.pk))
    assert "Old app (archived)" in response.content.decode()
    assert ids_on(response) == [str(on_other.pk)]


def test_filter_by_foreign_credential_is_a_400_not_a_leak(
    alice_client, acme, mallory, evil, acme_gateway, make_issuance
):
    foreign = factories.credential_create(
        team=evil,
        actor=mallory,
        gateway=acme_gateway,
        name="Evil app",
        consumer_key="ck-evil-0123456789",
        consumer_secret="cs-evil-0123456789",
    )
    make_issuance()
    response = history(alice_client, acme, credential=str(foreign.pk))
    assert response.status_code == 400
    assert ids_on(response) == []


def test_filter_by_member(alice_client, alice, acme, make_issuance):
    hers = make_issuance(issued_by=alice)
    make_issuance()
    assert ids_on(history(alice_client, acme, member=str(alice.pk))) == [str(hers.pk)]


@pytest.mark.parametrize(
    "status, expected",
    [
        ("active", {"live"}),
        ("expiring_soon", {"soon"}),
        ("expired", {"expired"}),
        ("revoked", {"revoked"}),
        ("renewed", {"renewed"}),
        ("failed", {"failed"}),
    ],
)
def test_filter_by_status_including_computed_ones(
    status, expected, alice_client, make_issuance, acme
):
    now = timezone.now()
    made = {
        "live": make_issuance(expires_at=now + timedelta(hours=1)),
        "soon": make_issuance(expires_at=now + timedelta(minutes=3)),
        "expired": make_issuance(expires_at=now - timedelta(minutes=3)),
        "revoked": make_issuance(status=Status.REVOKED, access_token=""),
        "renewed": make_issuance(status=Status.RENEWED, access_token=""),
        "failed": make_issuance(status=Status.FAILED, access_token=""),
    }
    found = set(ids_on(history(alice_client, acme, status=status)))
    assert found == {str(made[name].pk) for name in expected}


def test_filter_by_scope_matches_requested_or_granted_exactly(alice_client, make_issuance, acme):
    granted = make_issuance(requested_scopes=["read"], granted_scopes=["read", "admin"])
    requested = make_issuance(requested_scopes=["admin"], granted_scopes=[])
    make_issuance(requested_scopes=["admin_read"], granted_scopes=["admin_read"])
    make_issuance(requested_scopes=["Admin"], granted_scopes=["Admin"])
    found = set(ids_on(history(alice_client, acme, scope="admin")))
    assert found == {str(granted.pk), str(requested.pk)}


def test_scope_filter_treats_like_wildcards_literally(alice_client, make_issuance, acme):
    make_issuance(requested_scopes=["read"], granted_scopes=["read"])
    assert ids_on(history(alice_client, acme, scope="%")) == []
    assert ids_on(history(alice_client, acme, scope="r_ad")) == []


def test_scope_with_quotes_is_rejected_not_a_500(alice_client, acme):
    response = history(alice_client, acme, scope='a"b')
    assert response.status_code == 400
    assert "scope" in response.content.decode().lower()


def test_filter_by_date_range_is_inclusive(alice_client, make_issuance, acme):
    def at(day):
        return timezone.make_aware(datetime(2026, 3, day, 12, 0))

    make_issuance(issued_at=at(1))
    second = make_issuance(issued_at=at(2))
    third = make_issuance(issued_at=at(3))
    make_issuance(issued_at=at(4))
    found = ids_on(history(alice_client, acme, date_from="2026-03-02", date_to="2026-03-03"))
    assert found == [str(third.pk), str(second.pk)]


def test_reversed_date_range_is_a_form_error(alice_client, acme):
    response = history(alice_client, acme, date_from="2026-03-05", date_to="2026-03-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"member": "999999"},
        {"status": "bogus"},
        {"before": "garbage"},
        {"after": "20260101T000000.000000Z_nothex"},
    ],
)
def test_bad_input_is_a_400_with_a_message(params, alice_client, acme):
    response = history(alice_client, acme, **params)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


# --- Keyset pagination ----------------------------------------------------------------------


@pytest.fixture
def seventy_five(make_issuance):
    """75 finished tokens; groups of five share one issued_at to the microsecond."""
    base = timezone.now().replace(microsecond=123456) - timedelta(days=1)
    rows = []
    for n in range(75):
        rows.append(
            make_issuance(
                issued_at=base - timedelta(minutes=n // 5),
                status=Status.REVOKED,
                access_token="",
            )
        )
    expected = sorted(rows, key=lambda i: (i.issued_at, i.pk.hex), reverse=True)
    return [str(i.pk) for i in expected]


def test_older_links_walk_every_row_once_in_order(alice_client, acme, seventy_five):
    seen = []
    url, params = HISTORY, {"team": str(acme.pk)}
    pages = 0
    while True:
        response = alice_client.get(url, params)
        assert response.status_code == 200
        seen.extend(ids_on(response))
        pages += 1
        match = re.search(r'href="\?([^"]+)" rel="next"', response.content.decode())
        if not match:
            break
        url, params = HISTORY + "?" + match.group(1).replace("&amp;", "&"), {}
    assert pages == 3
    assert seen == seventy_five


def test_newer_links_walk_back_to_the_first_page(alice_client, acme, seventy_five):
    qs = selectors.issuance_list_for_team(team=acme)
    last = selectors.history_page(
        qs,
        before=selectors.Cursor.decode(
            selectors.Cursor.of(Issuance.objects.get(pk=seventy_five[49])).encode()
        ),
    )
    assert [str(i.pk) for i in last.issuances] == seventy_five[50:]
    assert last.older is None
    seen = [str(i.pk) for i in last.issuances]
    page = last
    while page.newer:
        page = selectors.history_page(qs, after=page.newer)
        seen = [str(i.pk) for i in page.issuances] + seen
    assert seen == seventy_five


def test_page_links_keep_the_filters(alice_client, acme, seventy_five):
    html = history(alice_client, acme, status="revoked", scope="read").content.decode()
    older = re.search(r'href="\?([^"]+)" rel="next"', html).group(1)
    assert "status=revoked" in older and "scope=read" in older and "before=" in older


def test_a_page_uses_neither_offset_nor_count(alice_client, acme, seventy_five):
    first = history(alice_client, acme)
    older = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode()).group(1)
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(HISTORY + "?" + older.replace("&amp;", "&"))
    assert response.status_code == 200
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql
    assert "COUNT(" not in sql


def test_the_export_holds_every_filtered_row_not_only_a_page(alice_client, acme, seventy_five):
    response, body = export(alice_client, acme, status="revoked")
    assert [r["id"] for r in csv_rows(body)] == seventy_five


def test_cursor_round_trips_and_rejects_garbage():
    now = timezone.now()
    import uuid

    cursor = selectors.Cursor(issued_at=now, id=uuid.uuid4())
    assert selectors.Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "x_y", "20260101T000000.000000Z_zz", "20261301T000000.000000Z_" + "0" * 32):
        with pytest.raises(ValueError):
            selectors.Cursor.decode(bad)


# --- CSV export ---------------------------------------------------------------------------------


def test_export_is_an_attachment_with_the_table_columns(alice_client, acme, make_issuance, alice):
    issuance = make_issuance(
        issued_by=alice,
        requested_scopes=["read", "write"],
        granted_scopes=["read"],
        access_token="fake-token-zzzzWXYZ",
    )
    response, body = export(alice_client, acme)
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"].startswith("text/csv")
    (row,) = csv_rows(body)
    assert row["id"] == str(issuance.pk)
    assert row["issued_by"] == "alice"
    assert row["credential"] == "Acme sandbox"
    assert row["requested_scopes"] == "read write"
    assert row["granted_scopes"] == "read"
    assert row["scopes_not_granted"] == "write"
    assert row["status"] == "active"
    assert row["access_token_last4"] == "WXYZ"
    assert row["access_token_fingerprint"] == issuance.access_token_fingerprint


def test_export_follows_the_filters(alice_client, acme, make_issuance, alice):
    hers = make_issuance(issued_by=alice)
    make_issuance()
    _, body = export(alice_client, acme, member=str(alice.pk))
    assert [r["id"] for r in csv_rows(body)] == [str(hers.pk)]


def test_export_defuses_spreadsheet_formulas(alice_client, acme, make_issuance):
    make_issuance(
        upstream_username='=HYPERLINK("http://evil")',
        status=Status.FAILED,
        access_token="",
        failure_kind="-1+1",
        failure_message="+SUM(A1:A9)",
    )
    make_issuance(upstream_username="@SUM(1)")
    _, body = export(alice_client, acme)
    rows = csv_rows(body)
    usernames = {r["upstream_username"] for r in rows}
    assert usernames == {'\'=HYPERLINK("http://evil")', "'@SUM(1)"}
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["failure_message"] == "'+SUM(A1:A9)"
    assert failed["failure_kind"] == "'-1+1"


def test_export_with_bad_filters_is_a_400(alice_client, acme):
    response = alice_client.get(EXPORT, {"team": str(acme.pk), "date_from": "nope"})
    assert response.status_code == 400


# --- No token material anywhere -----------------------------------------------------------------


def test_no_token_material_in_history_detail_export_or_dashboard(
    alice_client, alice, acme, make_issuance
):
    raw = "fake-secret-access-token-Zq9X"
    issuance = make_issuance(
        issued_by=alice, access_token=raw, refresh_token="fake-secret-refresh-token-77"
    )
    issuance.refresh_from_db()
    ciphertexts = [issuance.access_token_encrypted, issuance.refresh_token_encrypted]
    assert all(ciphertexts)
    session = alice_client.session
    session[CURRENT_TEAM_SESSION_KEY] = str(acme.pk)
    session.save()
    pages = [
        history(alice_client, acme).content.decode(),
        alice_client.get(reverse("tokens:detail", args=[issuance.pk])).content.decode(),
        alice_client.get(reverse("dashboard")).content.decode(),
        export(alice_client, acme)[1],
    ]
    for page in pages:
        assert "…Zq9X" in page or ',"Zq9X",' in page
        assert raw not in page
        assert "fake-secret-refresh-token-77" not in page
        for ciphertext in ciphertexts:
            assert ciphertext not in page
            assert ciphertext[-24:] not in page


# --- Detail -------------------------------------------------------------------------------------


def test_detail_shows_the_whole_renewal_chain_oldest_first(alice_client, make_issuance):
    first = make_issuance(status=Status.RENEWED, access_token="fake-token-aaa1")
    second = make_issuance(
        status=Status.RENEWED, renewed_from=first, access_token="fake-token-bbb2"
    )
    third = make_issuance(renewed_from=second, access_token="fake-token-ccc3")
    html = alice_client.get(reverse("tokens:detail", args=[second.pk])).content.decode()
    chain = html[html.index('class="renewal-chain"') :]
    positions = [chain.index("…aaa1"), chain.index("This token"), chain.index("…ccc3")]
    assert positions == sorted(positions)
    assert f'href="/tokens/{first.pk}/"' in chain
    assert f'href="/tokens/{third.pk}/"' in chain


def test_renewal_chain_selector_walks_both_ways(make_issuance):
    a = make_issuance(status=Status.RENEWED)
    b = make_issuance(status=Status.RENEWED, renewed_from=a)
    c = make_issuance(renewed_from=b)
    for member in (a, b, c):
        assert [i.pk for i in selectors.renewal_chain(member)] == [a.pk, b.pk, c.pk]


def test_detail_explains_a_confirmed_revocation(alice_client, make_issuance):
    issuance = make_issuance(
        status=Status.REVOKED,
        access_token="",
        revoked_at=timezone.now(),
        revoke_result={
            "accepted": True,
            "headers_sent": True,
            "access_token_confirmed": True,
            "refresh_token_confirmed": False,
            "used": "access_token",
        },
    )
    html = alice_client.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "The gateway confirmed the revocation" in html
    assert "until their token cache expires" in html


def test_detail_explains_an_unconfirmed_revocation(alice_client, make_issuance):
    issuance = make_issuance(
        status=Status.REVOKED,
        access_token="",
        revoke_result={"accepted": True, "headers_sent": False, "used": "refresh_token"},
    )
    html = alice_client.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "The gateway accepted the request (it does not say what it revoked)" in html
    assert "refresh token" in html


def test_detail_of_a_failed_request_gives_the_reason(alice_client, make_issuance):
    issuance = make_issuance(
        status=Status.FAILED,
        access_token="",
        failure_kind="invalid_scope",
        failure_message="The gateway refused the scope admin.",
    )
    html = alice_client.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "Why it failed" in html
    assert "The gateway refused the scope admin." in html


@pytest.mark.parametrize("who, allowed", [("alice", True), ("bob", True), ("carol", False)])
def test_detail_offers_renew_and_revoke_to_issuer_and_owner_only(
    who, allowed, cast, client_for, make_issuance
):
    issuance = make_issuance(refresh_token="fake-rt-1")
    html = client_for(cast[who]).get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert (reverse("tokens:renew", args=[issuance.pk]) in html) is allowed
    assert (reverse("tokens:revoke", args=[issuance.pk]) in html) is allowed


def test_issuer_gets_no_actions_on_someone_elses_token(client_for, bob, alice, make_issuance):
    hers = make_issuance(issued_by=alice, refresh_token="fake-rt-1")
    html = client_for(bob).get(reverse("tokens:detail", args=[hers.pk])).content.decode()
    assert reverse("tokens:revoke", args=[hers.pk]) not in html


def test_may_manage_with_a_loaded_membership_agrees_with_a_fresh_lookup(
    cast, acme, make_issuance, alice
):
    from portal.teams.models import Membership
    from portal.tokens import access

    tokens = [make_issuance(), make_issuance(issued_by=alice)]
    for user in cast.values():
        membership = Membership.objects.filter(user=user, team=acme).first()
        for issuance in tokens:
            expected = access.issuance_may_manage(user, issuance)
            got = bool(membership) and access.issuance_may_manage(
                user, issuance, membership=membership
            )
            assert got == expected, (user, issuance.issued_by)


def test_unknown_issuance_is_404(alice_client):
    import uuid

    assert alice_client.get(reverse("tokens:detail", args=[uuid.uuid4()])).status_code == 404


def test_date_filter_uses_local_calendar_days():
    filters = selectors.HistoryFilters(date_from=date(2026, 1, 2))
    assert filters.is_set()
    assert not selectors.HistoryFilters().is_set()


def test_the_history_export_is_audited_with_its_filters(make_issuance, acme, alice, client_for):
    from portal.audit.models import Action, AuditEvent

    make_issuance()
    response, body = export(client_for(alice), acme, status="active")
    assert response.status_code == 200 and body
    event = AuditEvent.objects.get(action=Action.HISTORY_EXPORTED)
    assert event.actor == alice and event.team_id == acme.pk
    assert event.details == {"format": "csv", "filters": {"status": "active"}}
