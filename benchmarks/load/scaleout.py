"""What proves the portal scales out (``--nodes N``): the nodes' audit events interleave in one
chain, and a login lockout and the rate limits hold across nodes.

The load run itself has rate limits off, so the limits and the lockout are probed afterwards:
the nodes are restarted with low limits and a few scripted requests alternate between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.load import USER_PASSWORD, stub_gateway
from benchmarks.load.cast import team_create
from benchmarks.load.evidence import Evidence, Run, Verdict
from benchmarks.load.users import CSRF_INPUT, ISSUANCE_URL, loopback_cookies, new_session

# Limits of the probe: low, so a few requests reach them.
PER_USER, PER_TEAM, LOGIN_FAILURES = 3, 5, 4
RATE_LIMITED = "in the last minute"  # the refusal's wording on the generate page


def audit_appends(started: float, ended: float) -> int:
    """Audit events appended between two wall-clock times."""
    from datetime import UTC, datetime

    from portal.audit.models import AuditEvent

    return AuditEvent.objects.filter(
        at__gte=datetime.fromtimestamp(started, UTC), at__lte=datetime.fromtimestamp(ended, UTC)
    ).count()


# --- the probes -----------------------------------------------------------------------------------


@dataclass
class Probes:
    """What the probes saw, in order; each entry (node, outcome)."""

    control_logins: list[tuple[int, int]] = field(default_factory=list)
    wrong_logins: list[tuple[int, int]] = field(default_factory=list)
    right_logins_after: list[tuple[int, int]] = field(default_factory=list)
    per_user: list[tuple[int, str]] = field(default_factory=list)
    per_team: list[tuple[int, str]] = field(default_factory=list)


class Browser:
    """One person's session; every request goes to the node it names."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.session = new_session()

    def login(self, node: int, username: str, password: str) -> int:
        base = self.bases[node]
        page = self.session.get(f"{base}/accounts/login/", timeout=30)
        loopback_cookies(self.session)
        match = CSRF_INPUT.search(page.text)
        answer = self.session.post(
            f"{base}/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        loopback_cookies(self.session)
        return answer.status_code

    def generate(self, node: int, credential_id: str, username: str) -> str:
        """``issued``, ``limited`` (the rate limit's refusal) or ``HTTP <status>``."""
        import uuid

        answer = self.session.post(
            f"{self.bases[node]}/tokens/generate/",
            data={
                "csrfmiddlewaretoken": self.session.cookies.get("csrftoken", ""),
                "credential": credential_id,
                "grant_type": "password",
                "upstream_username": f"{username}@example.com",
                "password": stub_gateway.USER_PASSWORD,
                "scopes": ["read"],
                "idempotency_key": str(uuid.uuid4()),
            },
            allow_redirects=False,
            timeout=30,
        )
        loopback_cookies(self.session)
        if answer.status_code == 302 and ISSUANCE_URL.search(answer.headers.get("Location", "")):
            return "issued"
        if answer.status_code == 200 and RATE_LIMITED in answer.text:
            return "limited"
        return f"HTTP {answer.status_code}"


def probe_env(env: dict) -> dict:
    return dict(
        env,
        PORTAL_RATE_LIMIT_PER_USER=str(PER_USER),
        PORTAL_RATE_LIMIT_PER_TEAM=str(PER_TEAM),
        PORTAL_LOGIN_FAILURE_LIMIT=str(LOGIN_FAILURES),
    )


def probe_sharing(bases: list[str], *, stub) -> Probes:
    """Run against nodes started with :func:`probe_env`. A lockout: LOGIN_FAILURES wrong
    passwords for one user, each to the next node, then the right one to every node. The
    per-user limit: one issuer generates PER_USER + 2 times, each to the next node. The
    per-team limit: the team's owner then generates until the team has PER_TEAM tokens, and
    once more."""
    nodes = len(bases)
    credential_id = team_create(
        name="Probe team", usernames=["probe-owner", "probe-issuer", "probe-locked"], stub=stub
    )
    seen = Probes()
    intruder = Browser(bases)
    for n in range(LOGIN_FAILURES):
        seen.wrong_logins.append((n % nodes, intruder.login(n % nodes, "probe-locked", "wrong")))
    for n in range(nodes):
        seen.right_logins_after.append((n, intruder.login(n, "probe-locked", USER_PASSWORD)))
    issuer, owner = Browser(bases), Browser(bases)
    seen.control_logins.append((0, issuer.login(0, "probe-issuer", USER_PASSWORD)))
    seen.control_logins.append((1 % nodes, owner.login(1 % nodes, "probe-owner", USER_PASSWORD)))
    for n in range(PER_USER + 2):
        seen.per_user.append((n % nodes, issuer.generate(n % nodes, credential_id, "probe-issuer")))
    for n in range(PER_TEAM - PER_USER + 1):
        node = (n + 1) % nodes
        seen.per_team.append((node, owner.generate(node, credential_id, "probe-owner")))
    return seen


def _said(entries) -> str:
    return ", ".join(f"node{node} {outcome}" for node, outcome in entries)


# --- the invariants -------------------------------------------------------------------------------


def audit_chain_interleaves(run: Run, ev: Evidence) -> Verdict | None:
    """With several nodes: every node appended to the audit chain, and the chain passes from
    one node's event to another's many times (each such link is a hash ``verify_audit``
    checked), so the nodes wrote one chain, not one each. Events are told apart by the request
    id each node answered with; set-up and reconcile events have none."""
    if run.nodes < 2:
        return None
    from portal.audit.models import AuditEvent

    owner = run.results.request_nodes
    chain = [
        owner.get(rid)
        for rid in AuditEvent.objects.order_by("seq").values_list("request_id", flat=True)
    ]
    per_node = [sum(1 for n in chain if n == node) for node in range(run.nodes)]
    handovers = sum(
        1
        for a, b in zip(chain, chain[1:], strict=False)
        if a is not None and b is not None and a != b
    )
    return Verdict(
        all(per_node) and handovers >= run.nodes,
        "the nodes' audit events interleave in one chain",
        ", ".join(f"node{n} {count} events" for n, count in enumerate(per_node))
        + f", {chain.count(None)} from neither (set-up, probes, reconcile); the chain passes "
        f"directly from one node's event to another's {handovers} times",
        {"audit_events_per_node": per_node, "audit_node_handovers": handovers},
    )


def lockout_shared(run: Run, ev: Evidence) -> Verdict | None:
    """A lockout earned on several nodes holds on every node: LOGIN_FAILURES wrong passwords,
    spread so that no node alone saw that many, lock the user out everywhere (429), while
    other users still log in."""
    seen = run.probes
    if seen is None:
        return None
    before_limit = [status for _, status in seen.wrong_logins[: LOGIN_FAILURES - 1]]
    return Verdict(
        all(s == 200 for s in before_limit)
        and all(s == 429 for _, s in seen.right_logins_after)
        and all(s == 302 for _, s in seen.control_logins),
        "a login lockout holds on every node",
        f"{LOGIN_FAILURES} wrong passwords ({_said(seen.wrong_logins)}), then the right one: "
        f"{_said(seen.right_logins_after)}; other users: {_said(seen.control_logins)}",
    )


def rate_limits_shared(run: Run, ev: Evidence) -> Verdict | None:
    """The per-user and per-team limits count every node's tokens: an issuer's requests spread
    over the nodes are refused after PER_USER tokens on every node, and the owner's after the
    team reached PER_TEAM."""
    seen = run.probes
    if seen is None:
        return None
    from portal.audit.models import Action, AuditEvent

    per_user = ["issued"] * PER_USER + ["limited"] * 2
    per_team = ["issued"] * (PER_TEAM - PER_USER) + ["limited"]
    refused = AuditEvent.objects.filter(action=Action.TOKEN_RATE_LIMITED).count()
    return Verdict(
        [o for _, o in seen.per_user] == per_user
        and [o for _, o in seen.per_team] == per_team
        and refused == (per_user + per_team).count("limited"),
        "rate limits hold across nodes",
        f"{PER_USER} per user a minute: {_said(seen.per_user)}; {PER_TEAM} per team: "
        f"{_said(seen.per_team)}; token.rate_limited events {refused}",
    )


INVARIANTS = (audit_chain_interleaves, lockout_shared, rate_limits_shared)
