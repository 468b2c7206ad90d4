"""``core.links.url_for_id``: one reverse() for a whole list of links, the same URLs as reverse()."""

import uuid

import pytest
from django.urls import NoReverseMatch, reverse

from portal.core.links import url_for_id


def test_links_are_the_urls_reverse_gives():
    ids = [uuid.uuid4() for _ in range(3)]
    detail = url_for_id("tokens:detail")
    assert [detail(pk) for pk in ids] == [reverse("tokens:detail", args=[pk]) for pk in ids]
    renew = url_for_id("tokens:renew")
    assert renew(ids[0]) == reverse("tokens:renew", args=[ids[0]])


def test_a_pattern_without_an_id_is_refused():
    with pytest.raises(NoReverseMatch):
        url_for_id("tokens:history")
