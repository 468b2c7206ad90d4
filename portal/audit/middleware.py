"""Turns a failed audit write into a clear "not done" page instead of a 500."""

import logging

from django.http import HttpResponse
from django.shortcuts import render

from portal.audit.chain import AuditWriteError

logger = logging.getLogger(__name__)


class AuditFailureMiddleware:
    """When ``record()`` fails, the service's transaction has rolled back: the action did not
    happen. Tell the user so (503, try again later) rather than showing a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, AuditWriteError):
            return None
        logger.error("Audit write failed; the action was rolled back", exc_info=exception)
        try:
            return render(request, "audit/unavailable.html", status=503)
        except Exception:  # the database may be the problem: a page must still come back
            logger.exception("Rendering the audit failure page failed")
            return HttpResponse(
                "The action was not performed because it could not be recorded in the audit "
                "trail. Please try again later.",
                status=503,
                content_type="text/plain; charset=utf-8",
            )
