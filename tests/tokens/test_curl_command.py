# ruff: noqa: F811  (the fixtures of test_flows are imported by name)
"""The ready curl command is safe to paste into a shell, whatever the gateway sent."""

import html
import re
import shlex

import pytest

from portal.tokens.models import Issuance

from .test_flows import _generate, credential, fake, gateway  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_curl_command_quotes_a_token_that_would_run_code(bob, credential, client_for, fake):
    browser = client_for(bob)
    real_issue = fake._issue

    def hostile(name, kwargs, *, refresh):
        response = real_issue(name, kwargs, refresh=refresh)
        return type(response)(**{**response.__dict__, "access_token": 'eyJx$(id)`id`"; rm -rf ~ #'})

    fake._issue = hostile
    response = _generate(browser, credential)
    page = browser.get(response["Location"]).content.decode()
    command = html.unescape(re.search(r'id="curl-example">(.*?)</pre>', page, re.S).group(1))
    # A POSIX shell splits it into exactly: curl, -H, the header, the URL — nothing runs.
    assert shlex.split(command) == [
        "curl",
        "-H",
        'Authorization: Bearer eyJx$(id)`id`"; rm -rf ~ #',
        "https://your-api.example/resource",
    ]
    assert Issuance.objects.count() == 1
