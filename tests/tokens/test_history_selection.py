"""The history table reads its pages as fixed SQL (``HistorySelection``): the same rows, in the
same order and with the same values, as the queryset (``issuance_list_for_team`` with the
table's joined columns) the charts, exports and the API read - for every filter, hostile search
text included, on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.core import paging
from portal.teams import services as teams
from portal.tokens import selectors
from portal.tokens.models import EXPIRING_SOON, Grant, Status
from portal.tokens.selection import HistorySelection, TableRow
from tests import factories

pytestmark = pytest.mark.django_db

# Names and notes a LIKE pattern could misread: its wildcards, its escape character, quotes,
# case and letters outside ASCII.
LIKE_CHARACTERS = "%_x\\"
TEXTS = ["Deploy 50%", "a_b nightly", "back\\slash", "O'Brien's \"job\"", "ÜBER tool", "plain"]


@pytest.fixture
def moment():
    """The "now" the ledger is made around and the selections compare at."""
    return timezone.now()


@pytest.fixture
def ledger(acme, alice, bob, carol, acme_credential, make_issuance, moment):
    """Forty-odd issuances of Acme: every status (and "expires soon" / expired), two
    credentials (one archived), three issuers (one since deleted), scopes, several days, names,
    notes and last characters made of TEXTS, renewals, and runs of rows issued at the same
    instant (the keyset then orders them by id)."""
    now = moment
    batch = factories.credential_create(team=acme, actor=alice, name="Batch <jobs>")
    batch.archived_at = now - timedelta(days=1)
    batch.save(update_fields=["archived_at"])
    leaver = factories.user_create("leaver")
    statuses = [Status.ACTIVE, Status.REVOKED, Status.FAILED, Status.PENDING, Status.ACTIVE]
    shared_instant = now - timedelta(hours=5)
    made = []
    for i in range(40):
        issued_at = shared_instant if i % 7 == 0 else now - timedelta(hours=13 * i)
        expires = {0: now + timedelta(minutes=5), 1: now - timedelta(minutes=1), 2: None}
        expires_at = expires.get(i % 6, now + timedelta(hours=2))
        if i in (5, 10, 15, 20):  # exactly at the bounds of "expired" and "expires soon"
            expires_at = now if i % 10 else now + EXPIRING_SOON
        made.append(
            make_issuance(
                credential=batch if i % 4 == 0 else acme_credential,
                issued_by=[alice, bob, carol, leaver][i % 4],
                name=TEXTS[i % len(TEXTS)] if i % 3 else "",
                note=TEXTS[(i + 2) % len(TEXTS)] if i % 2 else "",
                access_token="" if i % 9 == 0 else f"tok-{i:02d}{LIKE_CHARACTERS[i % 4]}9",
                refresh_token="refresh" if i % 5 == 0 else "",
                grant_type=Grant.CLIENT_CREDENTIALS if i % 6 == 0 else Grant.PASSWORD,
                requested_scopes=[["read"], ["read", "write"], ['od"d'], []][i % 4],
                granted_scopes=[["read"], ["write"], [], ["admin"]][i % 4],
                issued_at=issued_at,
                expires_at=expires_at,
                status=statuses[i % len(statuses)],
                failure_message="upstream said <no>" if i % 5 == 2 else "",
            )
        )
    for old, new in zip(made[1:30:6], made[2:30:6], strict=True):  # renewals
        old.status = Status.RENEWED
        old.save(update_fields=["status"])
        new.renewed_from = old
        new.save(update_fields=["renewed_from"])
    leaver.delete()
    return made


def _orm_rows(qs):
    """What the ORM reads of ``qs`` for the table (the reference)."""
    return selectors.history_table_rows(qs)


def _walk(chosen, keyset, size=6) -> list:
    """Every page walking older (rows, links, renewals), then back newer from the last one
    (at most 20 pages each way: a seek that repeats a page must fail, not loop)."""
    pages, before, last = [], None, None
    for _ in range(20):
        page = paging.page(chosen, keyset, before=before, size=size)
        renewed = selectors.renewed_by_map(page.items)
        pages.append(([tuple(r) for r in page.items], page.older, page.newer, renewed))
        if page.items:
            last = page.items[-1]
        if not page.older:
            break
        before = page.older
    after = selectors.Cursor.of(last) if last else None
    for _ in range(20):
        if after is None:
            break
        page = paging.page(chosen, keyset, after=after, size=size)
        pages.append(([tuple(r) for r in page.items], page.older, page.newer))
        after = page.newer
    return pages


def _compare(acme, filters: selectors.HistoryFilters, now=None):
    chosen = selectors.history_selection(team=acme, filters=filters, now=now)
    fixed = _walk(chosen, selectors.HISTORY_TABLE_ORDER)
    reference = _walk(_orm_rows(chosen.queryset()), selectors.HISTORY_ORDER)
    assert fixed == reference
    return fixed


FILTERS = [
    {},
    {"search": "deploy"},
    {"search": "DEPLOY 50%"},
    {"search": "%"},
    {"search": "_"},
    {"search": "\\"},
    {"search": "a_b"},
    {"search": "'s \"job"},
    {"search": "über"},
    {"search": "…%9"},
    {"search": "_x\\9"},
    {"search": "…"},
    {"search": "  plain  "},
    {"search": "nothing like it"},
    {"member": "bob"},
    {"member": "carol"},
    {"credential": "batch"},
    {"status": Status.ACTIVE},
    {"status": "expiring_soon"},
    {"status": "expired"},
    {"status": Status.REVOKED},
    {"status": Status.FAILED},
    {"status": Status.RENEWED},
    {"status": Status.PENDING},
    {"scope": "read"},
    {"scope": "admin"},
    {"scope": 'od"d'},
    {"scope": "rea"},
    {"date_from": -2},
    {"date_to": -3},
    {"date_from": -8, "date_to": -2},
    {"date_from": 1},
    {"search": "plain", "status": Status.ACTIVE, "scope": "read", "member": "bob"},
    {"credential": "batch", "status": Status.FAILED, "date_from": -20},
]


@pytest.mark.parametrize("given", FILTERS, ids=[repr(f) for f in FILTERS])
def test_a_selection_pages_like_its_queryset(acme, ledger, bob, carol, moment, given):
    values = dict(given)
    for key in ("date_from", "date_to"):
        if key in values:
            values[key] = timezone.localdate() + timedelta(days=values[key])
    if "member" in values:
        values["member_id"] = {"bob": bob, "carol": carol}[values.pop("member")].pk
    if "credential" in values:
        values.pop("credential")
        values["credential_id"] = next(i.credential_id for i in ledger if i.credential.archived_at)
    _compare(acme, selectors.HistoryFilters(**values), now=moment)


def test_the_comparison_sees_rows_and_renewals(acme, ledger):
    """The walks compared above are not vacuous: every row is read, and renewals are found."""
    pages = _compare(acme, selectors.HistoryFilters())
    rows = [row for page in pages[: len(pages) // 2 + 1] for row in page[0]]
    assert len({row[0] for row in rows}) == len(ledger)
    assert any(page[3] for page in pages if len(page) == 4)
    found = {row[0]: TableRow(*row) for row in rows}
    assert all(r.issued_by_username for r in found.values() if r.issued_by_id)
    assert any(r.issued_by_id is None for r in found.values())  # the deleted issuer's rows
    assert any(r.credential_archived_at for r in found.values())
    assert {r.holds_token for r in found.values()} == {True, False}


def test_another_teams_rows_never_appear(acme, ledger, alice):
    other = teams.team_create(name="Other", owner=alice)
    chosen = selectors.history_selection(team=other, filters=selectors.HistoryFilters())
    assert paging.page(chosen, selectors.HISTORY_TABLE_ORDER, size=100).items == []


def test_a_selection_takes_only_keyset_conditions_and_orders(acme):
    chosen = selectors.history_selection(team=acme)
    assert isinstance(chosen, HistorySelection)
    with pytest.raises(TypeError):
        chosen.filter(object())
    with pytest.raises(ValueError):
        chosen.order_by("name")
    with pytest.raises(TypeError):
        chosen[5:10]


def test_rows_carry_the_querysets_names(acme, ledger):
    """The table reads a row by name: both ways of reading name the values alike."""
    chosen = selectors.history_selection(team=acme)
    fixed = chosen.order_by("-issued_at", "-id")[:1][0]
    reference = _orm_rows(chosen.queryset()).order_by("-issued_at", "-id")[0]
    assert fixed._fields == reference._fields == TableRow._fields
    assert fixed == reference
