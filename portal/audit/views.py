from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.audit import access, exports, selectors, services
from portal.audit.forms import AuditFilterForm
from portal.core.paging import page_query
from portal.teams import access as team_access


@login_required
@require_GET
@never_cache
def audit_log(request: HttpRequest) -> HttpResponse:
    """The current (or ``?team=``) team's trail, newest first: all of it for owners and viewers,
    their own events for issuers."""
    membership = team_access.membership_for_request(request, request.GET.get("team"))
    form = AuditFilterForm(request.GET)
    context = {
        "team": membership.team,
        "membership": membership,
        "own_only": access.audit_only_actor_id(membership) is not None,
        "form": form,
        "rows": [],
        "page": None,
    }
    if not form.is_valid():
        return render(request, "audit/log.html", context, status=400)
    qs = selectors.event_list_for_team(
        team=membership.team,
        filters=form.filters(),
        only_actor_id=access.audit_only_actor_id(membership),
    )
    page = selectors.event_page(
        qs, before=form.cleaned_data["before"], after=form.cleaned_data["after"]
    )
    context.update(
        page=page,
        rows=selectors.event_rows(page.items),
        older_query=page_query(request, before=page.older) if page.older else "",
        newer_query=page_query(request, after=page.newer) if page.newer else "",
        export_query=page_query(request),
        filtered=any(form.filters().as_details().values()),
    )
    return render(request, "audit/log.html", context)


@login_required
@require_GET
@never_cache
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered view as a streamed download. The export is audited before a row leaves."""
    if fmt not in exports.FORMATS:
        raise Http404("No such format.")
    membership = team_access.membership_for_request(request, request.GET.get("team"))
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        context = {"team": membership.team, "membership": membership, "form": form, "rows": []}
        return render(request, "audit/log.html", context, status=400)
    filters = form.filters()
    only_actor_id = access.audit_only_actor_id(membership)
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
