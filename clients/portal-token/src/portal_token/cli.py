"""portal-token: get OAuth2 tokens from a Token Portal in scripts and CI jobs.

    export PORTAL_URL=https://portal.example.com
    export PORTAL_API_KEY=tpk_...            # from your CI's secret store, never an argument
    portal-token issue --credential "Billing app" --scope read --format env
    portal-token list
    portal-token renew ID
    portal-token revoke ID
    portal-token whoami

The key and the portal's address come from the environment only, so they never show in a
process list or a shell history. For the password grant the API Store password comes from
PORTAL_GATEWAY_PASSWORD, else from a prompt (never an argument either).

Exit codes:
    0  done
    1  unexpected answer from the portal
    2  usage or configuration error (bad arguments, PORTAL_URL or PORTAL_API_KEY missing)
    3  authentication failed: the API key is missing, invalid, expired or revoked
    4  not allowed, or not found (the key's role, team or credentials do not cover it)
    5  refused: invalid input, the gateway rejected the password or scopes, the token is not active
    6  try again later: rate limited, the gateway is busy or down, the portal cannot be reached
    7  the gateway or the portal failed (e.g. the gateway rejected the stored credential)

Errors are one sentence on standard error; standard output carries only what was asked for.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import sys
import uuid

import requests

from portal_token import __version__

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_DENIED = 4
EXIT_REFUSED = 5
EXIT_RETRY = 6
EXIT_FAILED = 7

_STATUS_EXITS = {
    400: EXIT_REFUSED,
    401: EXIT_AUTH,
    403: EXIT_DENIED,
    404: EXIT_DENIED,
    405: EXIT_UNEXPECTED,
    409: EXIT_REFUSED,
    422: EXIT_REFUSED,
    429: EXIT_RETRY,
    503: EXIT_RETRY,
    504: EXIT_RETRY,
}
TIMEOUT = (5, 60)  # connect, read: the portal itself waits for the gateway


class Failure(Exception):
    """Stop with ``code`` after printing ``message`` (one sentence) on standard error."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Portal:
    """The portal's API at ``url`` with the API key ``key``."""

    def __init__(self, url: str, key: str) -> None:
        self.base = url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {key}",
                "Accept": "application/json, application/problem+json",
                "User-Agent": f"portal-token/{__version__}",
            }
        )

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        except requests.exceptions.SSLError:
            raise Failure(
                "The portal's TLS certificate could not be verified (set REQUESTS_CA_BUNDLE "
                "if it uses a private CA).",
                EXIT_FAILED,
            ) from None
        except requests.exceptions.Timeout:
            raise Failure(
                "The portal did not answer in time; try again later.", EXIT_RETRY
            ) from None
        except requests.exceptions.RequestException:
            raise Failure(
                f"Cannot reach the portal at {self.base}; check PORTAL_URL or try again later.",
                EXIT_RETRY,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and isinstance(body, (dict, list)):
            return body
        if isinstance(body, dict) and "type" in body:
            detail = body.get("detail") or body.get("title") or "The portal refused the request."
            errors = body.get("errors") or []
            if errors:
                detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
            code = _STATUS_EXITS.get(response.status_code)
            if code is None:
                code = EXIT_FAILED if response.status_code >= 500 else EXIT_UNEXPECTED
            raise Failure(_one_line(detail), code)
        raise Failure(
            f"Unexpected answer from the portal (HTTP {response.status_code}); is PORTAL_URL "
            "the portal's address?",
            EXIT_UNEXPECTED,
        )


def _password() -> str:
    password = os.environ.get("PORTAL_GATEWAY_PASSWORD", "")
    if password:
        return password
    if not sys.stdin.isatty():
        raise Failure(
            "The password grant needs your API Store password: set PORTAL_GATEWAY_PASSWORD "
            "(no terminal to prompt on).",
            EXIT_USAGE,
        )
    password = getpass.getpass("API Store password: ")
    if not password:
        raise Failure("No password given.", EXIT_USAGE)
    return password


def _print_token(token: dict, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(token, indent=2, sort_keys=True))
        return
    access_token = token.get("access_token")
    if not access_token:
        raise Failure(
            "The portal recorded the token but did not return it (it belongs to someone else, "
            f"or was already shown once); revoke it with: portal-token revoke {token.get('id')}.",
            EXIT_UNEXPECTED,
        )
    if fmt == "raw":
        print(access_token)
        return
    print(
        "export "
        f"ACCESS_TOKEN={shlex.quote(access_token)} "
        f"TOKEN_EXPIRES_AT={shlex.quote(token.get('expires_at') or '')} "
        f"TOKEN_ID={shlex.quote(str(token.get('id')))}"
    )
    missing = token.get("scopes_not_granted") or []
    if missing:
        print(f"portal-token: not granted: {' '.join(missing)}", file=sys.stderr)


def cmd_issue(portal: Portal, args) -> None:
    body: dict = {"credential": args.credential, "grant": args.grant}
    if args.scope:
        body["scopes"] = args.scope
    if args.grant == "password":
        body["password"] = _password()
        if args.username:
            body["username"] = args.username
    # One token per invocation, even if the request were sent twice.
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    token = portal.call("POST", "/tokens", json=body, headers=headers)
    _print_token(token, args.format)


def cmd_renew(portal: Portal, args) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    _print_token(portal.call("POST", f"/tokens/{args.id}/renew", headers=headers), args.format)


def cmd_revoke(portal: Portal, args) -> None:
    token = portal.call("POST", f"/tokens/{args.id}/revoke")
    if args.format == "json":
        print(json.dumps(token, indent=2, sort_keys=True))
    else:
        print(f"Revoked token {token['id']} (…{token.get('access_token_last4', '')}).")


def cmd_list(portal: Portal, args) -> None:
    params = {"limit": args.limit}
    if args.status:
        params["status"] = args.status
    page = portal.call("GET", "/tokens", params=params)
    if args.format == "json":
        print(json.dumps(page, indent=2, sort_keys=True))
        return
    for token in page["items"]:
        print(
            "\t".join(
                [
                    token["id"],
                    token["status"],
                    token["credential"]["name"],
                    token["grant"],
                    token.get("expires_at") or "-",
                    "…" + (token.get("access_token_last4") or "????"),
                    token.get("issued_by") or "-",
                ]
            )
        )


def cmd_whoami(portal: Portal, args) -> None:
    me = portal.call("GET", "/me")
    if args.format == "json":
        print(json.dumps(me, indent=2, sort_keys=True))
        return
    key = me["key"]
    credentials = ", ".join(key["credentials"]) if key["credentials"] is not None else "all"
    print(
        f"{me['username']} in {key['team']['name']} as {key['role']} "
        f"(key “{key['name']}”, credentials: {credentials}, expires {key['expires_at']})"
    )


class _Parser(argparse.ArgumentParser):
    """argparse repeats unrecognised arguments in its error: never a key pasted by mistake."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments"):
            message = "unrecognized arguments (the API key is read from PORTAL_API_KEY only)"
        message = re.sub(r"tpk_\S*", "tpk_…", message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="portal-token",
        description="Tokens from a Token Portal. Reads PORTAL_URL and PORTAL_API_KEY.",
        epilog="Exit codes: 0 done, 1 unexpected answer, 2 usage, 3 authentication, "
        "4 not allowed or not found, 5 refused, 6 try again later, 7 gateway or portal failure.",
    )
    top.add_argument("--version", action="version", version=f"portal-token {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    issue = sub.add_parser("issue", help="generate a token")
    issue.add_argument("--credential", required=True, metavar="NAME", help="name or id")
    issue.add_argument("--scope", action="append", default=[], metavar="S", help="repeatable")
    issue.add_argument(
        "--grant", choices=["client_credentials", "password"], default="client_credentials"
    )
    issue.add_argument("--username", help="password grant: the gateway username (default: built)")
    issue.add_argument("--format", choices=["raw", "json", "env"], default="raw")
    issue.set_defaults(run=cmd_issue)

    renew = sub.add_parser("renew", help="renew a token (refresh-token grant)")
    renew.add_argument("id")
    renew.add_argument("--format", choices=["raw", "json", "env"], default="raw")
    renew.set_defaults(run=cmd_renew)

    revoke = sub.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id")
    revoke.add_argument("--format", choices=["text", "json"], default="text")
    revoke.set_defaults(run=cmd_revoke)

    listing = sub.add_parser("list", help="the team's latest tokens, newest first")
    listing.add_argument(
        "--status",
        choices=["active", "expiring_soon", "expired", "renewed", "revoked", "failed", "pending"],
    )
    listing.add_argument("--limit", type=int, default=25)
    listing.add_argument("--format", choices=["text", "json"], default="text")
    listing.set_defaults(run=cmd_list)

    whoami = sub.add_parser("whoami", help="who the API key acts as")
    whoami.add_argument("--format", choices=["text", "json"], default="text")
    whoami.set_defaults(run=cmd_whoami)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # exits 2 on a usage error
    try:
        url = os.environ.get("PORTAL_URL", "").strip()
        key = os.environ.get("PORTAL_API_KEY", "").strip()
        if not url:
            raise Failure("Set PORTAL_URL to the portal's address.", EXIT_USAGE)
        if not key:
            raise Failure("Set PORTAL_API_KEY to an API key from the portal.", EXIT_USAGE)
        args.run(Portal(url, key), args)
    except Failure as failure:
        print(f"portal-token: {failure.message}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        print("portal-token: interrupted.", file=sys.stderr)
        return 130
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
