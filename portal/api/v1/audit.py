"""``GET /audit``: the key's team's audit trail, as the audit page shows it to the key's role
(an issuer key reads its creator's own events; a viewer key the team's), in keyset pages."""

from datetime import date

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from portal.api import access
from portal.api.v1.errors import Problem
from portal.api.v1.schemas import AuditEventOut, AuditPage, ValidationProblem
from portal.api.v1.schemas import Problem as ProblemSchema
from portal.audit import exports, selectors
from portal.audit.forms import AuditFilterForm

router = Router(tags=["audit"])


class AuditFilters(Schema):
    actor: str | None = Field(None, max_length=150, description="A username.")
    action: str | None = Field(None, max_length=40, examples=["token.issued"])
    outcome: str | None = Field(None, max_length=10, examples=["failure"])
    date_from: date | None = None
    date_to: date | None = None
    target_type: str | None = Field(None, max_length=40, examples=["tokens.issuance"])
    target_id: str | None = Field(None, max_length=64)
    cursor: int | None = Field(None, ge=1, description="``next_cursor`` of a page.")
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=200)


@router.get(
    "",
    response={200: AuditPage, 401: ProblemSchema, 422: ValidationProblem},
    url_name="audit",
)
def audit_log(request, response: HttpResponse, filters: Query[AuditFilters]):
    """Events newest first, with the audit page's filters; ``next_cursor`` for older ones."""
    principal = request.auth
    data = {
        name: str(value)
        for name, value in filters.model_dump(exclude={"limit", "cursor"}).items()
        if value is not None
    }
    if filters.cursor is not None:
        data["before"] = str(filters.cursor)
    form = AuditFilterForm(data)
    if not form.is_valid():
        errors = [
            {"field": "cursor" if name == "before" else name, "message": message}
            for name, messages in form.errors.items()
            for message in messages
        ]
        raise Problem("validation", "The request has invalid fields.", errors=errors)
    qs = selectors.event_list_for_team(
        team=principal.team,
        filters=form.filters(),
        only_actor_id=access.audit_only_actor_id(principal),
    )
    page = selectors.event_page(qs, before=form.cleaned_data["before"], size=filters.limit)
    if page.older:
        params = request.GET.copy()
        params["cursor"] = str(page.older)
        response["Link"] = f'<{request.path}?{params.urlencode()}>; rel="next"'
    return AuditPage(
        items=[AuditEventOut(**exports.event_dict(e)) for e in page.items],
        next_cursor=str(page.older) if page.older else None,
    )
