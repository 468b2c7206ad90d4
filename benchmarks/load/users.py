"""The simulated users: one thread and one ``requests`` session each, measuring every request."""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from benchmarks.load import CLIENT_TIMEOUT, USER_PASSWORD, stub_gateway

RESULT_TOKEN = re.compile(r'<textarea id="access-token"[^>]*>([^<]+)</textarea>')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ISSUANCE_URL = re.compile(r"/tokens/([0-9a-f-]{36})/(result/)?$")


@dataclass
class Sample:
    kind: str  # login, generate, double, result, renew, revoke
    status: int  # HTTP status; 0 = no answer (connection error / client timeout)
    started: float  # wall clock (time.time()), to compare with the outage window
    latency: float
    outcome: str = ""


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[Sample] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (issuance id, token shown)
    double_mismatch: list[tuple[str, str]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    # The X-Request-ID each node answered with (the audit trail stores it): request id -> node
    request_nodes: dict[str, int] = field(default_factory=dict)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def new_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.headers["User-Agent"] = "token-portal-load-test"
    return s


def loopback_cookies(session: requests.Session) -> None:
    """The portal runs with production settings, so its cookies are ``Secure``; on loopback over
    plain HTTP the client sends them anyway, as a TLS-terminating proxy in front would. (A
    cookie policy would not do: requests merges cookies into a fresh jar with the default one.)"""
    for cookie in session.cookies:
        cookie.secure = False


class SimulatedUser(threading.Thread):
    """One person, logged in, generating, renewing and revoking until ``stop_at[0]``. With
    several nodes (``bases``) the user's requests go to each in turn, as from a load balancer
    without sticky sessions; the two halves of a double submit go to different nodes."""

    def __init__(
        self, *, index, bases, credential_id, results, start_barrier, stop_at, seed, mix="full"
    ):
        super().__init__(name=f"user{index}", daemon=True)
        self.index = index
        self.bases = bases
        self.next_node = index % len(bases)
        self.credential_id = credential_id
        self.results = results
        self.start_barrier = start_barrier
        self.stop_at = stop_at
        self.random = random.Random(seed)
        self.session = new_session()
        self.logged_in = False
        self.mix = mix

    # --- one request, measured --------------------------------------------------------------------

    def _node(self) -> int:
        node = self.next_node
        self.next_node = (node + 1) % len(self.bases)
        return node

    def _request(self, kind: str, method: str, path: str, session=None, node=None, **kwargs):
        session = session or self.session
        node = self._node() if node is None else node
        started_wall, started = time.time(), time.perf_counter()
        try:
            response = session.request(
                method,
                self.bases[node] + path,
                allow_redirects=False,
                timeout=CLIENT_TIMEOUT,
                **kwargs,
            )
        except requests.RequestException as exc:
            self.results.add(Sample(kind, 0, started_wall, time.perf_counter() - started))
            with self.results.lock:
                self.results.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        sample = Sample(kind, response.status_code, started_wall, time.perf_counter() - started)
        loopback_cookies(session)
        self.results.add(sample)
        request_id = response.headers.get("X-Request-ID")
        if request_id:
            with self.results.lock:
                self.results.request_nodes[request_id] = node
        response.sample = sample
        return response

    def _csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def _issuance_from(self, response) -> tuple[str | None, bool]:
        """(issuance id, is a result page) from a redirect's Location."""
        match = ISSUANCE_URL.search(urlsplit(response.headers.get("Location", "")).path)
        if not match:
            return None, False
        return match.group(1), bool(match.group(2))

    def _show_result(self, issuance_id: str) -> None:
        response = self._request("result", "GET", f"/tokens/{issuance_id}/result/")
        if response is not None and response.status_code == 200:
            match = RESULT_TOKEN.search(response.text)
            if match:
                with self.results.lock:
                    self.results.shown.append((issuance_id, match.group(1).strip()))
                response.sample.outcome = "shown"

    # --- the flows -------------------------------------------------------------------------------

    def login(self) -> bool:
        page = self._request("login", "GET", "/accounts/login/")
        if page is None or page.status_code != 200:
            return False
        match = CSRF_INPUT.search(page.text)
        node = self._node()
        response = self._request(
            "login",
            "POST",
            "/accounts/login/",
            node=node,
            data={
                "username": f"user{self.index}",
                "password": USER_PASSWORD,
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": self.bases[node] + "/accounts/login/"},
        )
        return response is not None and response.status_code == 302

    def _generate_form(self) -> dict:
        client_credentials = self.random.random() < 0.10
        return {
            "csrfmiddlewaretoken": self._csrf(),
            "credential": self.credential_id,
            "grant_type": "client_credentials" if client_credentials else "password",
            "upstream_username": f"user{self.index}@example.com",
            "password": stub_gateway.USER_PASSWORD,
            "scopes": ["read", "write"],
            # Now and then a scope the gateway drops silently (granted differs from requested).
            "extra_scopes": "admin" if self.random.random() < 0.1 else "",
            "idempotency_key": str(uuid.uuid4()),
        }

    def generate(self) -> tuple[str | None, bool]:
        """POST the generate form; (issuance id, has a refresh token) on success."""
        form = self._generate_form()
        if self.random.random() < 0.05:
            return self._double_submit(form)
        response = self._request("generate", "POST", "/tokens/generate/", data=form)
        return self._after_generate(response, form)

    def _after_generate(self, response, form) -> tuple[str | None, bool]:
        if response is None:
            return None, False
        if response.status_code == 302:
            issuance_id, is_result = self._issuance_from(response)
            if issuance_id and is_result:
                response.sample.outcome = "issued"
                self._show_result(issuance_id)
                return issuance_id, form["grant_type"] == "password"
            response.sample.outcome = "redirect_elsewhere"
        elif response.status_code == 200:
            response.sample.outcome = "form_error"
        return None, False

    def _double_submit(self, form) -> tuple[str | None, bool]:
        """The same form twice at once (a double click): one token, both land on one result."""
        twin = new_session()
        twin.cookies.update(self.session.cookies)
        answers: dict[str, object] = {}
        node = self._node()

        def send(name, session, node):
            answers[name] = self._request(
                "double", "POST", "/tokens/generate/", session, node, data=form
            )

        twin_node = (node + 1) % len(self.bases)
        other = threading.Thread(target=send, args=("twin", twin, twin_node))
        other.start()
        send("main", self.session, node)
        other.join()
        first, second = answers.get("main"), answers.get("twin")
        if first is not None and second is not None:
            if first.status_code == 302 and second.status_code == 302:
                a, b = (self._issuance_from(r)[0] for r in (first, second))
                if a != b:
                    with self.results.lock:
                        self.results.double_mismatch.append((a, b))
        return self._after_generate(first, form)

    def renew(self, issuance_id: str) -> tuple[str | None, bool]:
        response = self._request(
            "renew",
            "POST",
            f"/tokens/{issuance_id}/renew/",
            data={"csrfmiddlewaretoken": self._csrf(), "idempotency_key": str(uuid.uuid4())},
        )
        if response is None or response.status_code != 302:
            return issuance_id, True
        new_id, is_result = self._issuance_from(response)
        if new_id and is_result:
            response.sample.outcome = "renewed"
            self._show_result(new_id)
            return new_id, True
        response.sample.outcome = "refused"  # back to the detail page with a message
        return issuance_id, True

    def revoke(self, issuance_id: str) -> None:
        response = self._request(
            "revoke",
            "POST",
            f"/tokens/{issuance_id}/revoke/",
            data={"csrfmiddlewaretoken": self._csrf()},
        )
        if response is not None and response.status_code == 302:
            response.sample.outcome = "answered"

    def run(self) -> None:
        try:
            self.logged_in = self.login()
        finally:
            self.start_barrier.wait()
        if not self.logged_in:
            return
        while time.monotonic() < self.stop_at[0]:
            if self.mix == "generate":
                form = self._generate_form()
                response = self._request("generate", "POST", "/tokens/generate/", data=form)
                if response is not None and response.status_code == 302:
                    response.sample.outcome = "issued"
                continue
            issuance_id, renewable = self.generate()
            if issuance_id is None:
                continue
            if renewable and self.random.random() < 0.30 and time.monotonic() < self.stop_at[0]:
                issuance_id, renewable = self.renew(issuance_id)
            if self.random.random() < 0.50 and time.monotonic() < self.stop_at[0]:
                self.revoke(issuance_id)
