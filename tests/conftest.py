"""The fixed cast: alice owns Acme, bob issues in Acme, carol views Acme, mallory belongs to
another team (Evil) and must get 404 for everything of Acme's. The objects come from
``tests/factories.py``."""

import pytest

from portal.teams import services as teams
from portal.teams.models import Role
from tests import factories
from tests.db_roles import django_db_modify_db_settings, django_db_setup  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The cast only needs accounts that log in; Argon2 (the real hasher, see
    # tests/test_settings.py) would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_pooled_gateway_connections_between_tests():
    # A keep-alive connection to a live test server would keep its thread - and its database
    # connection - alive, and PostgreSQL then refuses to drop the test database at the end.
    yield
    from portal.gateway import client

    close = getattr(client.session, "close", None)  # tests may have put a stand-in there
    if close is not None:
        close()
    client.session = None


@pytest.fixture(autouse=True)
def _fresh_health_answer():
    # /healthz reuses its count of unopenable values for a minute; each test starts afresh.
    from portal.views import forget_health_cache

    forget_health_cache()


@pytest.fixture
def password() -> str:
    return factories.PASSWORD


@pytest.fixture
def alice(db):
    return factories.user_create("alice")


@pytest.fixture
def bob(db):
    return factories.user_create("bob")


@pytest.fixture
def carol(db):
    return factories.user_create("carol")


@pytest.fixture
def mallory(db):
    return factories.user_create("mallory")


@pytest.fixture
def acme(alice, bob, carol):
    team = teams.team_create(name="Acme", owner=alice)
    teams.member_add(team=team, user=bob, role=Role.ISSUER, actor=alice)
    teams.member_add(team=team, user=carol, role=Role.VIEWER, actor=alice)
    return team


@pytest.fixture
def evil(mallory):
    return teams.team_create(name="Evil", owner=mallory)


@pytest.fixture
def cast(acme, evil, alice, bob, carol, mallory):
    return {"alice": alice, "bob": bob, "carol": carol, "mallory": mallory}


@pytest.fixture
def client_for():
    """``client_for(user)`` - a test client logged in as that user."""
    return factories.logged_in


@pytest.fixture
def alice_client(alice):
    return factories.logged_in(alice)
