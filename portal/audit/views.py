"""The audit pages: a team's log, a person's own account activity, and (staff) the whole portal's.

Every page shows events as sentences (``describe``) with their technical fields one click away,
newest first, in keyset pages."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.audit import access, describe, exports, selectors, services
from portal.audit.forms import AuditFilterForm
from portal.core.paging import page_query
from portal.teams import access as team_access


def _page(request, events, *, before, after, with_team=False) -> dict:
    """``events`` (an EventSelection, or a queryset) at the reader's position, as rows."""
    page = selectors.event_page(events, before=before, after=after)
    rows = describe.describe(page.items, with_team=with_team)
    return {
        "page": page,
        "rows": rows,
        "rows_html": describe.rows_html(rows),
        "older_query": page_query(request, before=page.older) if page.older else "",
        "newer_query": page_query(request, after=page.newer) if page.newer else "",
    }


def _target_label(filters) -> str:
    """What a log narrowed to one object is about, in words ("token …0Vmw")."""
    if not filters.target_id:
        return ""
    if filters.target_type == "tokens.issuance":
        refs = describe.token_refs([filters.target_id])
        ref = refs.get(filters.target_id)
        if ref is not None:
            return f"token …{ref.last4}" if ref.last4 else "this token request"
    kinds = dict(describe.TARGET_KINDS)
    return f"one of {kinds.get(filters.target_type, 'its objects').lower()}"


@login_required
@require_GET
@never_cache
def audit_log(request: HttpRequest) -> HttpResponse:
    """The current (or ``?team=``) team's trail, newest first: all of it for owners and viewers,
    their own events for issuers."""
    membership = team_access.membership_for_request(request, request.GET.get("team"))
    # The header's Team menu names the team this page shows (a ?team= link moves you there).
    team_access.set_current_team(request, membership.team)
    only_actor_id = access.audit_only_actor_id(membership)
    form = AuditFilterForm(request.GET, show_actor=only_actor_id is None)
    context = {
        "team": membership.team,
        "membership": membership,
        "own_only": only_actor_id is not None,
        "form": form,
        "rows": [],
        "page": None,
        "people": selectors.people_for_team(membership.team) if only_actor_id is None else [],
    }
    if not form.is_valid():
        return render(request, "audit/log.html", context, status=400)
    filters = form.filters()
    selection = selectors.event_selection_for_team(
        team=membership.team, filters=filters, only_actor_id=only_actor_id
    )
    context.update(
        _page(
            request,
            selection,
            before=form.cleaned_data["before"],
            after=form.cleaned_data["after"],
        ),
        export_query=page_query(request),
        filtered=any(filters.as_details().values()),
        target_label=_target_label(filters),
        clear_target_query=page_query(request, target_id="", target_type=""),
    )
    return render(request, "audit/log.html", context)


@login_required
@require_GET
@never_cache
def account_activity(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own account events (outside any team): sign-ins, failed sign-ins
    under their name, lockouts, password and profile changes."""
    form = AuditFilterForm(request.GET)
    before = after = None
    if form.is_valid():
        before, after = form.cleaned_data["before"], form.cleaned_data["after"]
    qs = selectors.event_list_for_account(user=request.user)
    context = {"form": form, **_page(request, qs, before=before, after=after)}
    return render(request, "audit/account.html", context)


@login_required
@require_GET
@never_cache
def audit_all(request: HttpRequest) -> HttpResponse:
    """Staff only (404 for everyone else): every event of the portal, every team and account."""
    if not request.user.is_staff:
        raise Http404("No such page.")
    form = AuditFilterForm(request.GET)
    context = {"form": form, "rows": [], "page": None, "all_events": True}
    if not form.is_valid():
        return render(request, "audit/all.html", context, status=400)
    filters = form.filters()
    selection = selectors.event_selection_all(filters=filters)
    context.update(
        _page(
            request,
            selection,
            before=form.cleaned_data["before"],
            after=form.cleaned_data["after"],
            with_team=True,
        ),
        filtered=any(filters.as_details().values()),
        target_label=_target_label(filters),
        clear_target_query=page_query(request, target_id="", target_type=""),
    )
    return render(request, "audit/all.html", context)


@login_required
@require_GET
@never_cache
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered view as a streamed download. The export is audited before a row leaves."""
    if fmt not in exports.FORMATS:
        raise Http404("No such format.")
    membership = team_access.membership_for_request(request, request.GET.get("team"))
    only_actor_id = access.audit_only_actor_id(membership)
    form = AuditFilterForm(request.GET, show_actor=only_actor_id is None)
    if not form.is_valid():
        context = {"team": membership.team, "membership": membership, "form": form, "rows": []}
        return render(request, "audit/log.html", context, status=400)
    filters = form.filters()
    recorded = {**filters.as_details()}
    if only_actor_id is not None:
        recorded["scope"] = "own events"
    event = services.audit_export_record(
        team=membership.team, actor=request.user, fmt=fmt, filters=recorded
    )
    # Everything up to and including this export's own event; later appends are not included.
    qs = selectors.event_list_for_team(
        team=membership.team, filters=filters, only_actor_id=only_actor_id
    ).filter(seq__lte=event.seq)
    content_type, lines = exports.FORMATS[fmt]
    response = StreamingHttpResponse(
        lines(selectors.event_export_batches(qs)), content_type=content_type
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{membership.team.pk}-{stamp}.{fmt}"'
    )
    return response
