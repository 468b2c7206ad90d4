#!/usr/bin/env python3
"""Screenshots of the main pages for the README's tour, from a light, throwaway data set.

    .venv/bin/python scripts/screenshots.py                  # into docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --only history,audit

It builds a fresh SQLite database in a temporary folder (never the development one), serves the
portal with its sandbox gateway on 127.0.0.1, fills it through the portal's own services (three
people in team Acme, a few tokens: active, renewed, revoked, failed, one with a dropped scope),
then drives Debian's Chromium (``PORTAL_CHROMIUM``, default /usr/bin/chromium; never a
downloaded browser) through each page at 1280 px (desktop) and 390 px (phone), and saves
``<page>-desktop.png`` and ``<page>-phone.png``. Pages are captured whole, cut at
``--max-height`` CSS pixels so a long page does not make a huge file, and - when Pillow is
installed (``pip install Pillow``) - reduced to a 256-colour palette, which keeps the flat
colours of the pages and divides the size by about three.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "screenshots-portal-password-1"
UPSTREAM_PASSWORD = "screenshots-upstream-password-1"
CONSUMER_KEY = "Xq3aZtT0bq8GhDk1vN7sP2wYcR5e"
CONSUMER_SECRET = "mF8kLr2QxW9vTbN4sJ6hD1gZpC7yA3eU"
ORG_KEY = "acmeorg"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(folder: Path, port: int) -> dict[str, str]:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        **os.environ,
        "PORTAL_ENV_FILE": "",
        "DEBUG": "True",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
        "PORTAL_ENCRYPTION_KEYS": f"k1:{key}",
        "PORTAL_AUDIT_KEY": secrets.token_urlsafe(48),
        "PORTAL_SANDBOX": "True",
        "PORTAL_SANDBOX_BASE_URL": f"http://127.0.0.1:{port}/sandbox",
        "PORTAL_ALLOW_HTTP_GATEWAYS": "True",
        "PORTAL_ALLOW_SIGNUP": "False",
        "PORTAL_RATE_LIMIT_PER_USER": "0",
        "PORTAL_RATE_LIMIT_PER_TEAM": "0",
        "LOG_LEVEL": "WARNING",
        "TIME_ZONE": "UTC",
    }


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"The portal did not answer at {url}.")


def seed(port: int) -> dict:
    """The light data set, written through the portal's services (so every event is audited
    as it would be). Runs in this process against the database the server uses."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()

    from portal.accounts import services as accounts
    from portal.sandbox import services as sandbox
    from portal.teams import services as teams
    from portal.teams.models import Role
    from portal.tokens import services as tokens
    from portal.vault import services as vault

    people = {}
    for name, display in (("alice", "Alice Moreau"), ("bob", "Bob Okafor"), ("carol", "Carol Ng")):
        people[name] = accounts.user_create(
            username=name,
            password=PASSWORD,
            email=f"{name}@example.com",
            display_name=display,
            api_store_email=f"{name}@example.com",
        )
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    acme = teams.team_create(name="Acme", owner=alice)
    teams.member_add(team=acme, user=bob, role=Role.ISSUER, actor=alice)
    teams.member_add(team=acme, user=carol, role=Role.VIEWER, actor=alice)
    teams.team_create(name="Payments platform", owner=alice)

    for person in (alice, bob):
        sandbox.sandbox_seed(
            consumer_key=CONSUMER_KEY,
            consumer_secret=CONSUMER_SECRET,
            username=f"{person.api_store_email}@{ORG_KEY}",
            password=UPSTREAM_PASSWORD,
            app_scopes="default read write",
            user_scopes="default read write" if person == alice else "default read",
        )
    base = f"http://127.0.0.1:{port}/sandbox"
    gateway, _ = vault.gateway_create(
        name="Sandbox",
        token_url=f"{base}/token",
        revoke_url=f"{base}/revoke",
        username_template="{email}@{org_key}",
        client_auth="basic",
        is_sandbox=True,
        actor_label="screenshots",
    )
    # A gateway nobody answers at: its failures show how a long reason looks.
    closed = free_port()
    offline, _ = vault.gateway_create(
        name="Staging (offline)",
        token_url=f"http://127.0.0.1:{closed}/oauth2/token",
        revoke_url=f"http://127.0.0.1:{closed}/oauth2/revoke",
        username_template="{email}@{org_key}",
        client_auth="basic",
        actor_label="screenshots",
    )
    common = {
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "org_key": ORG_KEY,
        "actor": alice,
        "team": acme,
    }
    app = vault.credential_create(
        name="Orders API (production)",
        gateway=gateway,
        default_scopes=["default", "read"],
        allow_client_credentials=True,
        **common,
    )
    vault.credential_create(
        name="Reporting job",
        gateway=gateway,
        default_scopes=["read"],
        allow_password=False,
        allow_client_credentials=True,
        **common,
    )
    staging = vault.credential_create(
        name="Orders API (staging)", gateway=offline, default_scopes=["read"], **common
    )
    old = vault.credential_create(name="Legacy mobile app", gateway=gateway, **common)
    vault.credential_archive(credential=old, actor=alice)

    def issue(
        user,
        credential=app,
        *,
        scopes=("default", "read"),
        password=UPSTREAM_PASSWORD,
        grant="password",
        **extra,
    ):
        return tokens.token_issue(
            user=user,
            credential=credential,
            grant_type=grant,
            upstream_username=f"{user.api_store_email}@{ORG_KEY}" if grant == "password" else "",
            password=password if grant == "password" else "",
            scopes=list(scopes),
            **extra,
        )

    issue(
        bob,
        scopes=("default", "read", "write"),
        name="CI deploy",
        note="GitHub Actions: the orders-service deploy job",
    )
    renewable = issue(alice, scopes=("read", "write"), name="Postman collection")
    tokens.token_renew(user=alice, issuance=renewable)
    revoked = issue(bob, name="Load test", note="k6 run against staging, revoked afterwards")
    tokens.token_revoke(user=bob, issuance=revoked)
    issue(bob, password="not-the-password")
    issue(alice, staging, name="Staging smoke test")
    issue(
        alice,
        grant="client_credentials",
        scopes=("read",),
        name="Nightly report",
        note="Reporting job's application token",
    )
    return {"acme": str(acme.pk)}


def failed_and_good_logins(base_url: str) -> None:
    """A wrong password, then the right one, through the login form (so the account activity
    page has both)."""
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    for password in ("wrong password", PASSWORD):
        html = opener.open(f"{base_url}/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": "alice", "password": password}
        ).encode()
        request = urllib.request.Request(
            f"{base_url}/accounts/login/", data=data, headers={"Referer": base_url}
        )
        try:
            opener.open(request).read()
        except urllib.error.HTTPError:
            pass


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def pages(base_url: str, ids: dict):
    """(name, who, how) for every screenshot; ``how`` opens the page in a logged-in tab."""

    def go(path):
        return lambda page: page.goto(f"{base_url}{path}")

    def generate_result(page):
        page.goto(f"{base_url}/tokens/generate/")
        page.get_by_label("API Store password").fill(UPSTREAM_PASSWORD)
        page.get_by_label("Other scopes").fill("write admin")
        page.get_by_label("Name", exact=True).fill("Release checks")
        page.get_by_label("Note").fill("Smoke tests after each release")
        page.get_by_role("button", name="Generate token").click()
        page.wait_for_url(lambda url: "/result/" in url)

    def generate_error(page):
        page.goto(f"{base_url}/tokens/generate/")
        page.get_by_label("Gateway username").fill("")
        page.get_by_label("API Store password").fill("typed, then cleared for safety")
        page.get_by_role("button", name="Generate token").click()
        page.wait_for_load_state("load")

    def navigation(page):
        page.goto(f"{base_url}/")
        page.wait_for_load_state("load")
        toggle = page.locator("[data-menu-toggle]")
        if toggle.is_visible():
            toggle.click()
        page.locator("details.team-menu summary").click()

    def token_detail(page):
        page.goto(f"{base_url}/tokens/history/?team={ids['acme']}&search=CI")
        href = page.locator("table a.token-name").first.get_attribute("href")
        page.goto(f"{base_url}{href}")

    team = f"?team={ids['acme']}"
    return [
        ("login", None, go("/accounts/login/")),
        ("dashboard", "alice", go("/")),
        ("navigation", "alice", navigation),
        ("generate", "alice", go("/tokens/generate/")),
        ("generate-error", "alice", generate_error),
        ("result", "alice", generate_result),
        ("history", "alice", go(f"/tokens/history/{team}")),
        ("token-detail", "alice", token_detail),
        ("credentials", "alice", go(f"/credentials/team/{ids['acme']}/")),
        ("credential-form", "alice", go(f"/credentials/team/{ids['acme']}/new/")),
        ("team", "alice", go(f"/teams/{ids['acme']}/")),
        ("audit", "alice", go(f"/audit/{team}")),
        ("account-activity", "alice", go("/audit/account/")),
    ]


def optimise(path: Path) -> None:
    """A 256-colour palette PNG when Pillow is there (the pages are flat colours and text)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(path, optimize=True)


def capture(base_url: str, ids: dict, out: Path, only: set[str], max_height: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        )
        for width_name, (width, height) in WIDTHS.items():
            contexts = {}
            for name, who, how in pages(base_url, ids):
                if only and name not in only:
                    continue
                if who not in contexts:
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        is_mobile=width_name == "phone",
                        has_touch=width_name == "phone",
                        reduced_motion="reduce",
                    )
                    page = context.new_page()
                    if who:
                        log_in(page, base_url, who)
                    contexts[who] = page
                page = contexts[who]
                how(page)
                page.wait_for_load_state("load")
                page.evaluate("document.fonts && document.fonts.ready")
                full = page.evaluate("document.documentElement.scrollHeight")
                path = out / f"{name}-{width_name}.png"
                page.screenshot(
                    path=str(path),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(full, max_height)},
                )
                optimise(path)
                written.append(path)
                print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        browser.close()
    return written


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--max-height", type=int, default=2400)
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    port = opts.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    try:
        import PIL  # noqa: F401
    except ImportError:
        print("Pillow is not installed: the PNGs are written as Chromium makes them (larger).")
    with tempfile.TemporaryDirectory(prefix="portal-shots-") as tmp:
        env = environment(Path(tmp), port)
        os.environ.update(env)
        python = sys.executable
        subprocess.run(
            [python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        server = subprocess.Popen(
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"{base_url}/healthz")
            ids = seed(port)
            failed_and_good_logins(base_url)
            print(f"Writing screenshots to {out}")
            only = {n.strip() for n in opts.only.split(",") if n.strip()}
            capture(base_url, ids, out, only, opts.max_height)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
