"""The stub gateway's faulty answers (``stub_gateway.py`` describes the modes): a gateway asking
callers to back off, one that hangs, a proxy's HTML page, and one that trickles its answer so
slowly that no read timeout ever fires."""

from __future__ import annotations

import time

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Gateway error</title></head>"
    b"<body><h1>Service temporarily unavailable</h1></body></html>"
)


def trickle_shape(state) -> str | None:
    """In trickle mode: which shape this request gets, if any (call with the lock held).
    Exactly ``trickle_share`` of the requests are trickled, the shapes alternating."""
    n, share = state.trickle_seen, state.trickle_share
    state.trickle_seen += 1
    if int((n + 1) * share) == int(n * share):
        return None
    return ("trickle_headers", "trickle_body")[int(n * share) % 2]


class FaultyAnswers:
    """Mixed into the stub's request handler (``state``, ``_send`` and ``wfile`` are its)."""

    def _fault(self, endpoint: str) -> bool:
        """Serve the current fault, if any. True when the request has been answered."""
        state = self.state
        mode = state.mode
        if mode == "ok":
            return False
        with state.lock:
            if mode == "trickle":
                mode = trickle_shape(state)
                if mode is None:
                    return False
            state.counts[f"fault_{endpoint}_{mode}"] += 1
        if mode.startswith("trickle_"):
            self._trickle(endpoint, headers_too=mode == "trickle_headers")
        elif mode == "503":
            self._send(503, HTML_PAGE, ctype="text/html", headers={"Retry-After": "5"})
        elif mode == "html":
            self._send(200, HTML_PAGE, ctype="text/html; charset=utf-8")
        else:  # hang: longer than the portal's read timeout; the portal is gone by then
            time.sleep(state.hang_seconds)
            self.close_connection = True
            try:
                self._send(504, HTML_PAGE, ctype="text/html")
            except OSError:
                pass
        return True

    def _trickle(self, endpoint: str, *, headers_too: bool) -> None:
        """Drip the answer: the status line (or every header), then ``trickle_steps`` pieces
        (header lines, or body bytes) ``trickle_seconds`` apart - each well within a read
        timeout - then the rest at once. A client that hangs up is counted."""
        state = self.state
        steps = state.trickle_steps
        # It closes the connection afterwards and says so: a client must not pool it.
        fields = [
            ("Content-Type", "text/html"),
            ("Content-Length", len(HTML_PAGE)),
            ("Connection", "close"),
        ]
        if headers_too:
            fields += [(f"X-Trickle-{n}", n) for n in range(steps)]
        status = "502 Bad Gateway" if headers_too else "200 OK"
        head = [f"HTTP/1.1 {status}\r\n".encode()]
        head += [f"{name}: {value}\r\n".encode() for name, value in fields] + [b"\r\n"]
        if headers_too:
            prefix, pieces = head[0], head[1 : 1 + steps]
        else:
            prefix, pieces = b"".join(head), [HTML_PAGE[n : n + 1] for n in range(steps)]
        answer = b"".join(head) + HTML_PAGE
        suffix = answer[len(prefix) + sum(len(p) for p in pieces) :]
        self.close_connection = True
        try:
            self.wfile.write(prefix)
            self.wfile.flush()
            for piece in pieces:
                time.sleep(state.trickle_seconds)
                self.wfile.write(piece)
                self.wfile.flush()
            self.wfile.write(suffix)
            self.wfile.flush()
        except OSError:
            with state.lock:
                state.counts[f"trickle_{endpoint}_abandoned"] += 1
