"""The fixed-SQL lookups every request makes build the same objects the ORM builds, and the
generate POST stays within its statement budget."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.forms.models import model_to_dict
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.backends import UsernameOrEmailBackend
from portal.accounts.models import Session
from portal.accounts.session_store import SessionStore
from portal.core import fixed_sql
from portal.vault import access
from portal.vault.models import Credential
from tests import factories
from tests.fakes import FakeTokenApi

pytestmark = pytest.mark.django_db


def _all_values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def credential(acme, alice):
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=factories.gateway_create(),
        default_scopes=["default", "read"],
        allow_client_credentials=True,
    )


def test_a_credential_is_read_with_its_team_gateway_and_role_as_the_orm_reads_them(credential, bob):
    got = access.credential_get_for_user(bob, str(credential.pk), need="issuer")
    expected = Credential.objects.select_related("team", "gateway").get(pk=credential.pk)
    assert _all_values(got) == _all_values(expected)
    assert _all_values(got.team) == _all_values(expected.team)
    assert _all_values(got.gateway) == _all_values(expected.gateway)
    assert got.my_role == "issuer"
    assert got.default_scopes == ["default", "read"]
    assert not got._state.adding
    with CaptureQueriesContext(connection) as queries:
        assert got.team.name == "Acme" and got.gateway.token_url
    assert len(queries) == 0  # team and gateway came with the one row


def test_credential_lookup_keeps_the_access_rule(credential, carol, mallory):
    with pytest.raises(Http404):
        access.credential_get_for_user(mallory, credential.pk)  # outsider: 404, never 403
    for malformed in ("nope", "", 12.5, None):
        with pytest.raises(Http404):
            access.credential_get_for_user(carol, malformed)
    with pytest.raises(Http404):
        access.credential_get_for_user(carol, uuid.uuid4())
    assert access.credential_get_for_user(carol, credential.pk).my_role == "viewer"
    with pytest.raises(PermissionDenied):
        access.credential_get_for_user(carol, credential.pk, need="issuer")


def test_the_session_user_is_read_as_the_orm_reads_it(bob):
    got = UsernameOrEmailBackend().get_user(bob.pk)
    assert _all_values(got) == _all_values(get_user_model().objects.get(pk=bob.pk))
    assert UsernameOrEmailBackend().get_user(10**9) is None
    bob.is_active = False
    bob.save()
    assert UsernameOrEmailBackend().get_user(bob.pk) is None


def test_a_session_is_read_as_the_orm_reads_it_and_an_expired_one_not_at_all(bob):
    store = SessionStore()
    store["answer"] = 42
    store.create()
    row = Session.objects.get()
    loaded = SessionStore(store.session_key)
    assert loaded["answer"] == 42
    assert model_to_dict(loaded._get_session_from_db()) == model_to_dict(row)
    Session.objects.update(expire_date=row.expire_date.replace(year=2000))
    assert SessionStore(store.session_key).load() == {}


def test_a_request_reads_its_session_and_its_user_in_one_query_as_the_orm_reads_them(
    alice, client_for
):
    browser = client_for(alice)
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(reverse("accounts:profile")).wsgi_request.user.pk == alice.pk
    joined = queries.captured_queries[0]["sql"]
    assert Session._meta.db_table in joined and get_user_model()._meta.db_table in joined
    user_table = f'FROM "{get_user_model()._meta.db_table}"'
    assert not any(user_table in q["sql"] for q in queries.captured_queries[1:])
    store = SessionStore(browser.session.session_key)
    store.load()
    assert _all_values(store._user_read_with_session) == _all_values(
        get_user_model().objects.get(pk=alice.pk)
    )


def test_the_user_read_with_a_session_stands_only_for_the_user_the_session_names(
    alice, mallory, client_for
):
    """The row's user column only joins the user in; who is logged in stays the session data's
    word: a row pointing at another account (a tampered table) changes nothing."""
    browser = client_for(alice)
    Session.objects.update(user=mallory)
    assert browser.get(reverse("accounts:profile")).wsgi_request.user.pk == alice.pk


def test_an_account_switched_off_is_logged_out_on_its_next_request(alice, client_for):
    browser = client_for(alice)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    response = browser.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_instances_keep_every_value_through_the_converters(credential):
    # Booleans, UUIDs, JSON and times come back as the ORM's own types on every database.
    values = fixed_sql.row(
        f"SELECT {fixed_sql.columns(Credential)} FROM {fixed_sql.table(Credential)}", []
    )
    assert _all_values(fixed_sql.instance(Credential, values)) == _all_values(
        Credential.objects.get()
    )


def test_the_generate_post_stays_within_its_statement_budget(
    credential, bob, client_for, monkeypatch, settings
):
    """The session with its user (one joined row), 2FA teams, the credential (one joined row),
    then per transaction the issuance write and the audit event (head read and insert): 9
    statements besides transaction control and the audit chain's advisory lock (rate limits
    off)."""
    settings.PORTAL_RATE_LIMIT_PER_USER = settings.PORTAL_RATE_LIMIT_PER_TEAM = 0
    FakeTokenApi().install(monkeypatch)
    browser = client_for(bob)
    data = {
        "credential": str(credential.pk),
        "grant_type": "client_credentials",
        "scopes": ["default"],
        "idempotency_key": str(uuid.uuid4()),
    }
    browser.post(reverse("tokens:generate"), {**data, "idempotency_key": str(uuid.uuid4())})
    with CaptureQueriesContext(connection) as queries:
        response = browser.post(reverse("tokens:generate"), data)
    assert response.status_code == 302
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "SELECT pg_advisory_xact_lock")
    statements = [q["sql"] for q in queries.captured_queries]
    data = [sql for sql in statements if not sql.startswith(control)]
    assert len(data) <= 9, "\n".join(statements)
    if connection.vendor == "postgresql":
        # Round trips, BEGIN and COMMIT included: each transaction's row write goes with the
        # audit chain's lock and head read (audit.record's ``along``), so 3 + 4 + 4.
        assert len(statements) <= 11, "\n".join(statements)


def _pending_issuance(credential, user, **overrides):
    from django.utils import timezone

    from portal.tokens.models import Issuance

    return Issuance(
        **{
            "team_id": credential.team_id,
            "credential": credential,
            "gateway": credential.gateway,
            "token_url": credential.gateway.token_url,
            "revoke_url": credential.gateway.revoke_url,
            "issued_by": user,
            "grant_type": "password",
            "name": "Fixed · SQL",
            "upstream_username": "bob@example.org",
            "requested_scopes": ["default", "read"],
            "idempotency_key": uuid.uuid4(),
            "status": "pending",
            "issued_at": timezone.now(),
            **overrides,
        }
    )


def test_an_insert_and_an_update_store_what_save_would_have_stored(credential, bob):
    from django.db import DatabaseError

    from portal.tokens.models import Issuance

    issuance = _pending_issuance(credential, bob)
    fixed_sql.insert(issuance)
    assert not issuance._state.adding and issuance.updated_at is not None  # auto_now applied
    assert _all_values(Issuance.objects.get(pk=issuance.pk)) == _all_values(issuance)

    by_orm = _pending_issuance(credential, bob)
    by_orm.save(force_insert=True)
    expected = _all_values(by_orm)
    stored = _all_values(Issuance.objects.get(pk=by_orm.pk))
    assert stored == expected  # the reference: the ORM round-trips the same way

    before = issuance.updated_at
    issuance.status, issuance.granted_scopes = "active", ["read"]
    fixed_sql.update(issuance, ["status", "granted_scopes", "updated_at"])
    again = Issuance.objects.get(pk=issuance.pk)
    assert (again.status, again.granted_scopes) == ("active", ["read"])
    assert again.updated_at >= before and again.name == "Fixed · SQL"

    Issuance.objects.filter(pk=issuance.pk).delete()
    with pytest.raises(DatabaseError):
        fixed_sql.update(issuance, ["status"])


def test_an_insert_breaking_a_constraint_raises_integrity_error(credential, bob):
    from django.db import IntegrityError, transaction

    first = _pending_issuance(credential, bob)
    fixed_sql.insert(first)
    with pytest.raises(IntegrityError), transaction.atomic():
        fixed_sql.insert(_pending_issuance(credential, bob, idempotency_key=first.idempotency_key))


def test_a_users_memberships_are_read_with_their_teams_as_the_orm_reads_them(acme, alice, bob):
    from django.test import RequestFactory

    from portal.teams import access as team_access
    from portal.teams.models import Membership
    from portal.teams.services import team_create

    team_create(name="Zeta", owner=bob)
    team_create(name="alpha", owner=bob)
    request = RequestFactory().get("/")
    request.user = bob
    got = team_access.memberships_of(request)
    expected = list(
        Membership.objects.select_related("team").filter(user=bob).order_by("team__name")
    )
    assert [_all_values(m) for m in got] == [_all_values(m) for m in expected]
    assert [_all_values(m.team) for m in got] == [_all_values(m.team) for m in expected]
    with CaptureQueriesContext(connection) as queries:
        assert team_access.memberships_of(request) is got
        assert [m.team.name for m in got]
    assert len(queries) == 0  # once per request, teams included


def test_the_history_filter_choices_are_the_orms(acme, evil, alice, bob, carol, mallory):
    from django.utils import timezone

    from portal.tokens import selectors

    for name in ("Zeta", "alpha", "Gamma", "Beta"):
        factories.credential_create(team=acme, actor=alice, name=name)
    archived = factories.credential_create(team=acme, actor=alice, name="Old <one>")
    archived.archived_at = timezone.now()
    archived.save()
    factories.credential_create(team=evil, actor=mallory, name="Not ours")

    orm_credentials = [
        (str(c.pk), f"{c.name} (archived)" if c.archived_at else c.name)
        for c in Credential.objects.filter(team=acme).order_by("name", "created_at")
    ]
    orm_members = [
        (str(u.pk), u.username)
        for u in get_user_model().objects.filter(memberships__team=acme).order_by("username")
    ]
    assert selectors.credential_choices_for_team(acme) == orm_credentials
    assert len(orm_credentials) == 5
    assert selectors.member_choices_for_team(acme) == orm_members
    assert {u for _, u in orm_members} == {"alice", "bob", "carol"}


def _audit_event(seq: int, **overrides):
    from datetime import UTC, datetime

    from portal.audit.models import AuditEvent

    return AuditEvent(
        **{
            "seq": seq,
            "at": datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
            "actor_label": "Zoë",
            "action": "token.issued",
            "target_type": "tokens.issuance",
            "target_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "ip": "2001:db8::1",
            "user_agent": "Mozilla/5.0 (X11; 日本語)",
            "request_id": "req-1",
            "details": {"z": [1, 2.5, None, True], "a": {"ü": "\n"}},
            "prev_hash": f"{seq:064x}",
            "hash": "f" * 64,
            **overrides,
        }
    )


def test_an_insert_with_a_database_assigned_key_reads_the_key_back_as_save_does(acme, bob):
    from portal.audit.models import AuditEvent

    # Far above the events the cast's fixtures recorded.
    by_orm = _audit_event(10**6, actor=bob, team=acme)
    by_orm.save(force_insert=True)
    fixed = _audit_event(10**6 + 1, actor=bob, team=acme)
    fixed_sql.insert(fixed)
    assert isinstance(fixed.pk, int) and fixed.pk != by_orm.pk
    assert not fixed._state.adding
    assert _all_values(AuditEvent.objects.get(pk=fixed.pk)) == _all_values(fixed)
    assert _all_values(AuditEvent.objects.get(pk=by_orm.pk)) == _all_values(by_orm)

    def same_but_position(event):
        return {
            k: v
            for k, v in _all_values(AuditEvent.objects.get(pk=event.pk)).items()
            if k not in {"id", "seq", "prev_hash"}
        }

    assert same_but_position(fixed) == same_but_position(by_orm)


def test_an_insert_with_a_database_assigned_key_raises_integrity_error_on_a_clash(db):
    from django.db import IntegrityError, transaction

    fixed_sql.insert(_audit_event(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        fixed_sql.insert(_audit_event(1, prev_hash="e" * 64))  # seq is unique
