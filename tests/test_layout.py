"""What every page shares: the navigation (menus, team, roles), one form layout, readable times,
error pages a person can leave, and no inline script or style."""

import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.core.templatetags.ui import relative
from portal.teams import services as teams
from portal.teams.models import Role
from portal.vault import services as vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(db):
    gw, _ = vault.gateway_create(
        name="Test gateway",
        token_url="https://gateway.test/token",
        revoke_url="https://gateway.test/revoke",
        username_template="{email}@{org_key}",
    )
    return gw


def body(response) -> str:
    return response.content.decode()


def test_a_wrong_password_is_said_once(alice):
    page = body(Client().post(reverse("accounts:login"), {"username": "alice", "password": "no"}))
    assert page.count("do not match") == 1
    assert "data-error-summary" in page


def test_labels_have_no_colon_and_a_checkbox_comes_before_its_label(alice_client, acme, gateway):
    page = body(alice_client.get(reverse("vault:credential_create", args=[acme.pk])))
    assert '<label for="id_name">Name</label>' in page
    assert re.search(
        r'<div class="choice"><input type="checkbox" name="allow_password"[^>]*>'
        r'<label for="id_allow_password">Password grant',
        page,
    )
    assert ":</label>" not in page


def test_help_comes_before_the_input_and_describes_it_on_every_form(alice_client, acme, gateway):
    page = body(alice_client.get(reverse("vault:credential_create", args=[acme.pk])))
    help_at = page.index('id="id_consumer_key_helptext"')
    assert help_at < page.index('name="consumer_key"')
    assert 'aria-describedby="id_consumer_key_helptext"' in page


def test_the_team_menu_lists_each_team_with_the_role_there(alice_client, acme, evil):
    page = body(alice_client.get(reverse("dashboard")))
    assert re.search(rf'name="team" value="{acme.pk}"[^>]*>.*?Acme.*?owner', page, re.S)
    assert "Personal" in page
    assert 'aria-controls="menu"' in page and 'href="#menu"' in page


def test_the_user_menu_links_to_account_activity(alice_client):
    page = body(alice_client.get(reverse("dashboard")))
    assert reverse("audit:account") in page
    assert reverse("audit:all") not in page


def test_viewers_everywhere_are_offered_no_generate_link(acme, alice, carol, client_for):
    # carol views Acme but owns her personal team: she may add a credential there.
    assert reverse("tokens:generate") in body(client_for(carol).get(reverse("dashboard")))
    personal = carol.memberships.get(team__personal_owner=carol)
    personal.role = Role.VIEWER  # as if she only viewed (no issuer role anywhere)
    personal.save(update_fields=["role"])
    nav = body(client_for(carol).get(reverse("dashboard"))).split('aria-label="Main"')[1]
    assert reverse("tokens:generate") not in nav.split("</nav>")[0]


def test_the_dashboard_says_what_the_current_team_and_role_mean(alice, client_for):
    page = body(client_for(alice).get(reverse("dashboard")))
    assert "You are working in your <strong>personal team</strong>" in page
    assert "(personal)" not in page.split("<main")[1]


def test_getting_started_ticks_what_is_done(alice, client_for):
    page = body(client_for(alice).get(reverse("dashboard")))
    steps = page.split('id="dash-start"')[1].split("</section>")[0]
    assert steps.count('class="step-done"') == 1  # the API Store email only
    alice.api_store_email = ""
    alice.save(update_fields=["api_store_email"])
    steps = body(client_for(alice).get(reverse("dashboard"))).split('id="dash-start"')[1]
    assert 'class="step-done"' not in steps.split("</section>")[0]


def test_error_pages_have_the_navigation(alice_client):
    page = body(alice_client.get("/no-such-page/"))
    assert 'aria-label="Main"' in page
    assert f'href="{reverse("tokens:history")}"' in page
    assert "Skip to content" in page


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(seconds=-20), "just now"),
        (timedelta(minutes=-12), "12 min ago"),
        (timedelta(minutes=59, seconds=30), "in 59 min"),
        (timedelta(hours=-3), "3 h ago"),
    ],
)
def test_relative_times_are_short(delta, text):
    now = timezone.now()
    assert relative(now + delta, now) == text


def test_a_time_carries_the_exact_moment(settings):
    moment = timezone.now() - timedelta(days=400)
    html = Template("{% load ui %}{% when moment %}").render(Context({"moment": moment}))
    exact = timezone.localtime(moment)
    assert f'datetime="{exact.isoformat()}"' in html
    assert f'title="{exact:%Y-%m-%d %H:%M:%S %Z}"' in html
    assert f">{exact:%b} {exact.day}, {exact.year}</time>" in html


def test_a_time_in_another_zone_and_with_a_prefix(settings):
    from zoneinfo import ZoneInfo

    from portal.core.templatetags.ui import when_html

    now = timezone.now()
    moment = now - timedelta(days=3)
    tz = ZoneInfo("Asia/Kathmandu")
    with timezone.override(tz):
        by_lookup = when_html(moment, now, prefix="<b>", css='x" y')
    given = when_html(moment, now, prefix="<b>", css='x" y', tz=tz)
    assert by_lookup == given
    local = moment.astimezone(tz)
    assert f'datetime="{local.isoformat()}"' in given
    assert 'class="when x&quot; y"' in given
    assert f">&lt;b&gt; {local:%b} {local.day} {local:%H:%M}</time>" in given
    assert when_html(None) == "—"


def test_pages_have_no_inline_script_or_style(alice_client, acme, bob):
    teams.member_change_role(membership=bob.memberships.get(team=acme), role=Role.OWNER, actor=None)
    for url in (
        reverse("dashboard"),
        reverse("tokens:history") + f"?team={acme.pk}",
        reverse("audit:log") + f"?team={acme.pk}",
        reverse("audit:account"),
        reverse("teams:detail", args=[acme.pk]),
        reverse("teams:delete", args=[acme.pk]),
        reverse("vault:credential_list_team", args=[acme.pk]),
    ):
        page = body(alice_client.get(url))
        assert " style=" not in page and "<style" not in page, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
