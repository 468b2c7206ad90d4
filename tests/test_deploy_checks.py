"""``check --deploy`` speaks up about every setting that weakens a production portal."""

import os
import subprocess
import sys

import pytest

from .test_settings import PRODUCTION_ENV, ROOT

SAFE = {"PORTAL_SANDBOX": "False", "PORTAL_ALLOW_HTTP_GATEWAYS": "False"}


def _deploy_check(overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV, **SAFE)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        ({"PORTAL_ALLOW_HTTP_GATEWAYS": "True"}, "PORTAL_ALLOW_HTTP_GATEWAYS is on"),
        ({"PORTAL_ALLOW_SIGNUP": "True"}, "PORTAL_ALLOW_SIGNUP is on"),
        ({"PORTAL_AUDIT_KEY": "short-audit-key"}, "PORTAL_AUDIT_KEY is shorter than"),
        (
            {"PORTAL_AUDIT_KEY": PRODUCTION_ENV["SECRET_KEY"]},
            "PORTAL_AUDIT_KEY is the same as SECRET_KEY",
        ),
    ],
    ids=["http gateways", "sign-up", "short audit key", "audit key equals SECRET_KEY"],
)
def test_deploy_check_warns_about_each_weakening_setting(overrides, warning):
    result = _deploy_check(overrides)
    assert result.returncode != 0
    assert warning in result.stderr
