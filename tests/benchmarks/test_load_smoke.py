"""The load test's parts that can be checked quickly: the stub gateway speaks the contract the
portal's Token API client expects (so the load test's counts mean what they say), its fault modes
turn into the client's error kinds, and the harness's schedule and CPU accounting behave.

The load test itself (gunicorn, PostgreSQL, minutes of traffic) runs in CI as its own step:
``python -m benchmarks.load --small --faults all``.
"""

import math
import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from benchmarks.load import faults, processes, report, stub_faults, stub_gateway, users
from portal.gateway import client


@pytest.fixture
def stub():
    server = stub_gateway.make_server(hang_seconds=1.0, trickle_seconds=0.2, trickle_steps=3)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield SimpleNamespace(
        state=server.RequestHandlerClass.state,
        gateway=SimpleNamespace(
            token_url=f"{base}/token",
            revoke_url=f"{base}/revoke",
            client_auth="basic",
            ca_bundle="",
        ),
    )
    server.shutdown()
    server.server_close()
    thread.join()


def _credentials(gateway, consumer_secret=stub_gateway.CONSUMER_SECRET):
    return client.ClientCredentials(gateway, stub_gateway.CONSUMER_KEY, consumer_secret)


def _password_grant(gateway, consumer_secret=stub_gateway.CONSUMER_SECRET):
    return client.password_grant(
        _credentials(gateway, consumer_secret),
        username="user1@example.com",
        password=stub_gateway.USER_PASSWORD,
        scopes=["read", "admin"],
    )


def test_stub_issues_a_jwt_the_portal_client_accepts_and_counts_it(stub):
    response = _password_grant(stub.gateway)

    assert response.jwt_claims["sub"] == "user1@example.com"
    assert response.scopes == ["read"]  # "admin" dropped silently, like WSO2
    assert response.refresh_token
    assert stub.state.counts["issued"] == 1
    assert stub.state.tokens[response.access_token]["state"] == "live"


def test_stub_refresh_rotates_the_old_token_and_refuses_it_afterwards(stub):
    first = _password_grant(stub.gateway)

    second = client.refresh_grant(_credentials(stub.gateway), refresh_token=first.refresh_token)

    assert second.access_token != first.access_token
    assert stub.state.tokens[first.access_token]["state"] == "rotated"
    assert stub.state.counts["issued"] == 2
    with pytest.raises(client.TokenApiError) as excinfo:
        client.refresh_grant(_credentials(stub.gateway), refresh_token=first.refresh_token)
    assert excinfo.value.kind == "invalid_grant"


def test_stub_revocation_by_refresh_token_sends_wso2_headers_once(stub):
    issued = _password_grant(stub.gateway)

    result = client.revoke(
        _credentials(stub.gateway), issued.refresh_token, token_type_hint="refresh_token"
    )
    again = client.revoke(_credentials(stub.gateway), issued.refresh_token)

    assert result.revoked_access_token == issued.access_token
    assert stub.state.tokens[issued.access_token]["state"] == "revoked"
    assert again.accepted and again.revoked_access_token is None  # 200 without headers
    assert stub.state.counts["revoked"] == 1


def test_stub_rejects_a_wrong_consumer_secret_as_invalid_client(stub):
    with pytest.raises(client.TokenApiError) as excinfo:
        _password_grant(stub.gateway, consumer_secret="wrong")

    assert excinfo.value.kind == "invalid_client"
    assert stub.state.counts["issued"] == 0


@pytest.mark.parametrize(
    ("mode", "kind"), [("503", "rate_limited"), ("html", "bad_response"), ("hang", "timeout")]
)
def test_stub_fault_modes_become_the_clients_error_kinds_and_issue_nothing(
    stub, settings, mode, kind
):
    settings.PORTAL_TOKEN_TIMEOUT = 0.3
    stub.state.mode = mode

    with pytest.raises(client.TokenApiError) as excinfo:
        _password_grant(stub.gateway)

    assert excinfo.value.kind == kind
    assert faults.FAULT_KIND[mode] == kind  # what the load test expects of each fault
    assert stub.state.counts["issued"] == 0
    assert stub.state.counts[f"fault_token_{mode}"] == 1


def test_stub_trickles_both_shapes_into_timeouts_and_issues_nothing(stub, settings):
    # Each piece comes within the read timeout; the whole answer (0.6 s) outlasts connect + read.
    settings.PORTAL_TOKEN_TIMEOUT = 0.3
    settings.PORTAL_TOKEN_CONNECT_TIMEOUT = 0.1
    stub.state.mode = "trickle"
    stub.state.trickle_share = 1.0

    kinds = []
    for _ in range(2):  # the shapes alternate: headers, then body
        with pytest.raises(client.TokenApiError) as excinfo:
            _password_grant(stub.gateway)
        kinds.append(excinfo.value.kind)

    assert kinds == ["timeout", "timeout"]
    assert faults.FAULT_KIND["trickle_headers"] == faults.FAULT_KIND["trickle_body"] == "timeout"
    assert stub.state.counts["fault_token_trickle_headers"] == 1
    assert stub.state.counts["fault_token_trickle_body"] == 1
    assert stub.state.counts["issued"] == 0


def test_trickle_takes_exactly_its_share_of_requests_alternating_shapes():
    state = stub_gateway.StubState(delay_ms=0, hang_seconds=0)
    state.trickle_share = 0.25

    shapes = [stub_faults.trickle_shape(state) for _ in range(8)]

    assert shapes == [None] * 3 + ["trickle_headers"] + [None] * 3 + ["trickle_body"]


def test_timeline_keeps_the_wall_clock_window_of_each_stub_fault():
    timeline = faults.Timeline()

    for mode, at in (("503", 10.0), ("ok", 12.0), ("trickle", 14.0), ("ok", 16.0)):
        timeline.stub_mode(mode, at)
    timeline.stub_mode("trickle", 20.0)

    assert timeline.windows("503") == [(10.0, 12.0)]
    assert timeline.windows("trickle") == [(14.0, 16.0), (20.0, float("inf"))]


def test_users_send_their_requests_to_each_node_in_turn_starting_at_their_own():
    def user(index):
        return users.SimulatedUser(
            index=index,
            bases=["http://node0", "http://node1"],
            credential_id="",
            results=users.Results(),
            start_barrier=None,
            stop_at=[0],
            seed=index,
        )

    first, second = user(0), user(1)

    assert [first._node() for _ in range(4)] == [0, 1, 0, 1]
    assert [second._node() for _ in range(4)] == [1, 0, 1, 0]


def test_fault_schedule_alternates_faults_with_quiet_periods():
    plan = faults.schedule(["503", "hang", "dbrestart"], 14)

    assert plan == [(2, "503"), (4, "ok"), (6, "hang"), (8, "ok"), (10, "dbrestart")]
    assert faults.schedule([], 14) == []


def test_cpu_accounting_counts_a_reaped_child_process():
    before = processes.tree_cpu(os.getpid())

    subprocess.run(
        [
            sys.executable,
            "-c",
            "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass",
        ],
        check=True,
    )

    assert processes.tree_cpu(os.getpid()) - before >= 0.25


def test_percentile_is_nearest_rank():
    samples = [float(n) for n in range(1, 101)]

    assert report.pct(samples, 50) == 50.0
    assert report.pct(samples, 95) == 95.0
    assert report.pct(samples, 99) == 99.0


def test_the_machine_reference_is_portal_cpu_per_bare_request(stub):
    from benchmarks.load.__main__ import bare_request_cpu

    base = stub.gateway.token_url.removesuffix("/token")
    spent = iter(range(0, 10_000, 2))  # each reading 2 s later: 2 s over 10 requests

    class Node:
        bases = [base]

        def cpu(self):
            return next(spent)

    assert bare_request_cpu(Node(), count=10) == pytest.approx(200.0)

    class Gone(Node):
        bases = ["http://127.0.0.1:9"]  # nothing listens: a figure not measured, not a crash

    assert math.isnan(bare_request_cpu(Gone(), count=10))
