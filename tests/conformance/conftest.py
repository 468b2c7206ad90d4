"""The conformance server as a fixture (see ``oauth_server.py`` for what it is and its knobs).

``oauth_server`` is a fresh, running :class:`ConformanceServer` per test, with the default
configuration and the seeded cast (``CLIENT_ID``/``CLIENT_SECRET``, ``PLAIN_CLIENT_ID``/
``PLAIN_CLIENT_SECRET``, ``USERNAME``/``USER_PASSWORD``). Change its behaviour

- inside a test: ``oauth_server.configure(refresh_tokens="omit", send_expires_in=False)``;
- for a whole test, or several variants of it, by indirect parametrization::

      @pytest.mark.parametrize("oauth_server", [{"token_format": "jwt"}], indirect=True)
"""

import pytest

from tests.conformance.oauth_server import ConformanceServer, ServerConfig


@pytest.fixture
def oauth_server(request):
    config = ServerConfig(**getattr(request, "param", {}))
    with ConformanceServer(config).running() as server:
        yield server
