#!/usr/bin/env python3
"""The README's two commands.

    python3 scripts/dev.py run    set up (venv, .env with fresh secrets, migrate, demo data), serve
    python3 scripts/dev.py test   set up (venv with dev requirements), run the whole test suite

Only the standard library is used here: this runs before anything is installed. Re-running is
safe: the virtualenv is reused (reinstalled when a requirements file changes), an existing .env
is never overwritten, and the database keeps its data.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PORTAL_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
ENV_FILE = ROOT / ".env"
HOST = os.environ.get("PORTAL_HOST", "127.0.0.1")
PORT = os.environ.get("PORTAL_PORT", "8000")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def ensure_venv(requirements: str) -> None:
    """Create the virtualenv and install ``requirements`` unless it is already installed."""
    if sys.version_info < (3, 11):  # noqa: UP036  (a user may run an older python3)
        sys.exit("Token Portal needs Python 3.11 or newer.")
    if not PYTHON.exists():
        say(f"Creating the virtualenv in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    req_files = [ROOT / requirements]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in req_files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"Installing {requirements} (first run takes a minute)")
    # The requirements files are complete locks with hashes (generated from requirements*.in):
    # pip refuses anything unpinned or whose hash does not match.
    run(
        PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        "-r",
        requirements,
    )
    stamp.write_text(digest)


def make_private(*paths: Path) -> None:
    """Owner-only modes for files this script created with default ones in earlier versions."""
    for path in paths:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o700 if path.is_dir() else 0o600)


def ensure_env_file() -> None:
    """A development .env with freshly generated secrets; an existing one is kept as it is."""
    database = ROOT / "db"
    make_private(database, *database.glob("portal.sqlite3*"))
    if ENV_FILE.exists():
        make_private(ENV_FILE)
        return
    say("Writing .env with freshly generated secrets (git-ignored, never commit it)")
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    # Owner-only from the moment it exists: created with mode 0600, never tightened afterwards
    # (a chmod after writing leaves the secrets readable in between).
    descriptor = os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write(
            "# Development settings written by scripts/dev.py. See .env.example for every variable.\n"
            "DEBUG=True\n"
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"ALLOWED_HOSTS=127.0.0.1,localhost\n"
            f"PORTAL_ENCRYPTION_KEYS=k1:{key}\n"
            f"PORTAL_AUDIT_KEY={secrets.token_urlsafe(48)}\n"
            "PORTAL_SANDBOX=True\n"
            "PORTAL_ALLOW_SIGNUP=True\n"
            "PORTAL_ALLOW_HTTP_GATEWAYS=True\n"
            f"PORTAL_DEMO_PASSWORD={secrets.token_urlsafe(12)}\n"
        )


def cmd_run() -> None:
    ensure_venv("requirements.txt")
    ensure_env_file()
    # The portal serves its own sandbox gateway, so the sandbox lives wherever the portal runs
    # this time (PORTAL_HOST, PORTAL_PORT); an older .env's fixed value is overridden.
    os.environ["PORTAL_SANDBOX_BASE_URL"] = f"http://{HOST}:{PORT}/sandbox"
    manage = [PYTHON, "manage.py"]
    say("Migrating the database")
    run(*manage, "migrate", "--no-input", "-v", "0")
    run(*manage, "demo_setup")
    say(f"Serving Token Portal at http://{HOST}:{PORT}/  (Ctrl-C stops it)")
    os.execv(str(PYTHON), [str(PYTHON), "manage.py", "runserver", "--noreload", f"{HOST}:{PORT}"])


def cmd_test(extra: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    make_private(ROOT / "db", *(ROOT / "db").glob("portal.sqlite3*"), ENV_FILE)
    say("Running the test suite")
    result = subprocess.run([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT)
    sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    os.chdir(ROOT)
    if not argv or argv[0] not in {"run", "test"}:
        sys.exit(__doc__)
    if argv[0] == "run":
        cmd_run()
    else:
        cmd_test(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
