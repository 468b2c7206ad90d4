"""``core.links.url_for_id``: one reverse() for a whole list of links, the same URLs as reverse()."""

import uuid

import pytest
from django.urls import NoReverseMatch, reverse

from portal.core.links import id_url, url_for_id


def test_links_are_the_urls_reverse_gives():
    ids = [uuid.uuid4() for _ in range(3)]
    detail = url_for_id("tokens:detail")
    assert [detail(pk) for pk in ids] == [reverse("tokens:detail", args=[pk]) for pk in ids]
    renew = url_for_id("tokens:renew")
    assert renew(ids[0]) == reverse("tokens:renew", args=[ids[0]])


def test_a_pattern_without_an_id_is_refused():
    with pytest.raises(NoReverseMatch):
        url_for_id("tokens:history")


def test_id_url_is_reverse_and_checks_the_id_like_reverse():
    pk = uuid.uuid4()
    assert id_url("tokens:detail", pk) == reverse("tokens:detail", args=[pk])
    assert id_url("teams:detail", str(pk)) == reverse("teams:detail", args=[pk])
    for bad in ("../../admin/", "", "1", f"{pk}/x"):
        with pytest.raises(ValueError):
            id_url("tokens:detail", bad)


def test_id_url_follows_the_script_prefix():
    from django.urls import set_script_prefix

    pk = uuid.uuid4()
    try:
        set_script_prefix("/portal/")
        assert id_url("tokens:detail", pk) == f"/portal/tokens/{pk}/"
    finally:
        set_script_prefix("/")
    assert id_url("tokens:detail", pk) == f"/tokens/{pk}/"


def test_plain_url_is_reverse_and_follows_the_script_prefix():
    from django.template import Context, Template
    from django.urls import set_script_prefix

    from portal.core.links import plain_url

    assert plain_url("tokens:history") == reverse("tokens:history")
    assert Template('{% load ui %}{% link "dashboard" %}').render(Context()) == reverse("dashboard")
    try:
        set_script_prefix("/portal/")
        assert plain_url("tokens:history") == "/portal/tokens/history/" == reverse("tokens:history")
    finally:
        set_script_prefix("/")
    with pytest.raises(NoReverseMatch):
        plain_url("tokens:detail")
