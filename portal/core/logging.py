"""Structured logs: one JSON object per line on stdout, with the request id, never a secret.

``RedactSecretsFilter`` is the last line of defence: code must not log secrets in the first
place, but anything that looks like a bearer token, a Basic header, a JWT or a password/secret
form field is masked before a record is written.
"""

import json
import logging
import re
from datetime import UTC, datetime

from portal.core.context import current_request_id

_PATTERNS = [
    # Authorization header values
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    # JWTs anywhere
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    # form-encoded or JSON secrets: password=..., "access_token": "..."
    (
        re.compile(
            r"(?i)(\"?(?:password|passwd|secret|client_secret|consumer_secret|access_token|"
            r"refresh_token|id_token|token)\"?\s*[=:]\s*\"?)([^\s&\",}]+)"
        ),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are rendered later by the formatter; render and redact them now.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every record so one request's lines can be followed.

    django.request logs 4xx/5xx responses after the middleware has returned (and the request
    context is gone), but it passes the request along: its id is read from there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if request_id == "-":
            request_id = getattr(getattr(record, "request", None), "request_id", None) or "-"
        record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
