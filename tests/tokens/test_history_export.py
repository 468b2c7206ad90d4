"""The history export formats plain values a batch at a time: it must say exactly what the
issuances themselves say (the model's properties are the definition), across batch edges, with
a bounded number of queries however many rows there are."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.tokens import exports, selectors
from portal.tokens.models import Grant, Issuance, Status

pytestmark = pytest.mark.django_db


def _reference_row(issuance: Issuance) -> list[str]:
    """One row as the model instance describes it."""

    def iso(moment):
        return moment.isoformat(timespec="seconds") if moment else ""

    renewal = Issuance.objects.filter(renewed_from=issuance).first()
    values = [
        issuance.pk,
        issuance.name,
        issuance.note,
        iso(issuance.issued_at),
        issuance.issued_by.username if issuance.issued_by else "",
        issuance.credential.name,
        issuance.grant_type,
        issuance.upstream_username,
        " ".join(issuance.requested_scopes or []),
        " ".join(issuance.granted_scopes or []),
        " ".join(issuance.scopes_not_granted) if issuance.status != Status.FAILED else "",
        issuance.token_type,
        issuance.token_format,
        iso(issuance.expires_at),
        issuance.display_status,
        issuance.failure_kind,
        issuance.failure_message,
        issuance.renewed_from_id or "",
        renewal.pk if renewal and issuance.status == Status.RENEWED else "",
        issuance.access_token_last4,
        issuance.access_token_fingerprint,
        iso(issuance.revoked_at),
        issuance.revoked_by.username if issuance.revoked_by else "",
    ]
    return ["" if v is None else str(v) for v in values]


@pytest.fixture
def varied(make_issuance, alice, bob, carol):
    """Issuances of every status and shape, a second apart, oldest first."""
    start = timezone.now() - timedelta(hours=2)
    made = []

    def add(**fields):
        made.append(make_issuance(issued_at=start + timedelta(seconds=len(made)), **fields))
        return made[-1]

    old = add(status=Status.RENEWED, requested_scopes=["read", "write"], granted_scopes=["read"])
    add(renewed_from=old, grant_type=Grant.REFRESH_TOKEN, issued_by=alice)
    add(status=Status.RENEWED)  # renewed, its renewal not recorded
    add(status=Status.FAILED, access_token="", failure_kind="invalid_grant", failure_message="No")
    add(status=Status.REVOKED, revoked_at=timezone.now(), revoked_by=alice)
    add(issued_by=None, expires_at=timezone.now() - timedelta(minutes=1))  # expired, ex-member
    add(expires_at=timezone.now() + timedelta(minutes=5))  # expiring soon
    add(expires_at=None, granted_scopes=["read", "extra"], issued_by=carol)
    add(status=Status.PENDING, access_token="", granted_scopes=[])
    add(upstream_username='=HYPERLINK("x")', failure_message="a;-1")
    return made


def _export_rows(acme, chunk: int) -> list[list[str]]:
    qs = selectors.issuance_list_for_team(team=acme)
    now = timezone.now()
    rows = []
    for batch in selectors.history_export_batches(qs, chunk=chunk):
        rows += [
            ["" if v is None else str(v) for v in row]
            for row in exports.export_rows(batch, now=now)
        ]
    return rows


@pytest.mark.parametrize("chunk", [1, 3, 2000])
def test_export_rows_say_what_the_issuances_say(acme, varied, chunk):
    newest_first = sorted(varied, key=lambda i: (i.issued_at, i.pk), reverse=True)
    expected = [_reference_row(Issuance.objects.get(pk=i.pk)) for i in newest_first]
    assert _export_rows(acme, chunk) == expected


def test_export_queries_do_not_grow_with_the_rows(acme, make_issuance, alice_client):
    def queries_for_export() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(reverse("tokens:history_export"), {"team": str(acme.pk)})
            body = b"".join(response.streaming_content).decode()
        assert len(list(csv.reader(io.StringIO(body)))) == Issuance.objects.count() + 1
        return len(captured.captured_queries)

    for _ in range(3):
        make_issuance()
    queries_for_export()  # the session's first request reads more
    few = queries_for_export()
    for _ in range(40):
        make_issuance(status=Status.RENEWED)
    assert queries_for_export() == few + 1  # the renewals of the one batch


def test_the_database_writes_times_and_ids_as_python_would(make_issuance):
    from datetime import UTC, datetime

    from portal.core.dbtext import UtcIso, UuidText

    moments = [
        datetime(2025, 3, 30, 1, 2, 3, tzinfo=UTC),  # a whole second: no fraction stored
        datetime(2025, 3, 30, 1, 2, 3, 4560, tzinfo=UTC),
        timezone.localtime(),  # the local zone: written in UTC all the same
    ]
    for moment in moments:
        make_issuance(issued_at=moment, expires_at=None)
    written = Issuance.objects.annotate(
        issued=UtcIso("issued_at"), expires=UtcIso("expires_at")
    ).values_list("issued", "expires")
    expected = {m.astimezone(UTC).isoformat(timespec="microseconds") for m in moments}
    assert {issued for issued, _ in written} == expected
    assert {expires for _, expires in written} == {None}
    ids = Issuance.objects.annotate(text=UuidText("id"), none=UuidText("renewed_from_id"))
    assert {(str(i.pk), i.text, i.none) for i in ids} == {(str(i.pk), str(i.pk), None) for i in ids}
