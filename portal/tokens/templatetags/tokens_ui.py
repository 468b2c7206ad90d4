"""``{% load tokens_ui %}``: a token's status badge and scope chips (built in ``tokens.display``).

``{{ issuance|status_badge }}`` - active / expiring soon / expired / revoked … as a badge.
``{% scope_chips sv %}`` and ``{% scope_chips sv full=True %}`` - ``display.scope_view``'s
scopes as chips, ``full`` adding the requested ones when they differ.
"""

from django import template

from portal.tokens import display

register = template.Library()


@register.filter
def status_badge(issuance):
    return display.status_badge(issuance)


@register.simple_tag
def scope_chips(sv, full=False):
    return display.scope_chips(sv, full=full)
