"""Client mistakes are logged as one line, without their content; a request's own characters
never break a log line.

BentoML logs every request its input validation refuses (a 400) as an ERROR with the full
traceback, and pydantic's message in that traceback quotes the offending input: a triage text,
a customer id. The service's own refusals already log only the status and the exception type
(serving.errors); this filter brings BentoML's to the same line. Server faults (anything that is
neither a validation error nor a BentoML client error) keep their ERROR and traceback.

A request path is the client's text too, and the access log writes it as sent, decoded: `%0A`
became a line break, so anyone, without a key, could append forged lines to the log (and `%00`
wrote a NUL that makes tools read the log as binary). `EscapeControlCharacters` writes such
characters as `\\xNN` in the records of the loggers that quote a path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

# The logger BentoML's `log_exception` writes to (bentoml._internal.server.http_app).
BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
# Loggers whose records quote a request's path: BentoML's access log and error log, and the
# service's last-resort error log (serving.errors).
PATH_QUOTING_LOGGERS = ("bentoml.access", BENTOML_HTTP_LOGGER, "serving.errors")
# C0 and C1 controls, DEL and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# A location part the log may show: a declared field's name (an identifier) or a list index. A
# key the schema does not know is the client's own text (bodies forbid extra keys, so an unknown
# key is itself the error) and is never written.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


def _location(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "an unknown field"
    parts = [
        str(part) if isinstance(part, int) or _FIELD_NAME.match(str(part)) else "?"
        for part in error.get("loc", ())
    ]
    return ".".join(parts) or "body"


def _client_error(error: BaseException | None) -> str | None:
    """A description of `error` without its content if it is the client's, else None."""
    if isinstance(error, ValidationError):
        fields = sorted({_location(e) for e in error.errors()})
        return f"{error.error_count()} validation error(s) in {', '.join(fields)[:200]}"
    if isinstance(error, BentoMLException) and error.error_code.value < 500:
        return f"{type(error).__name__} ({error.error_code.value})"
    return None


class ClientErrorFilter(logging.Filter):
    """Rewrites a client error's record to an INFO line naming the fields, not their values."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        described = _client_error(error)
        if described is not None:
            path = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "client error on %s: %s", (path, described)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


class EscapeControlCharacters(logging.Filter):
    """Writes control characters of a record's message as `\\xNN`: one record, one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg = _CONTROL.sub(_escaped, message)
            record.args = None
        return True


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def quiet_client_errors() -> None:
    """Install the filters once (idempotent): client errors on BentoML's HTTP logger, then
    control characters escaped on every logger that quotes a path."""
    target = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in target.filters):
        target.addFilter(ClientErrorFilter())
    for name in PATH_QUOTING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, EscapeControlCharacters) for f in logger.filters):
            logger.addFilter(EscapeControlCharacters())
