"""serving.client_error_logs: BentoML's records of client mistakes lose their content."""

from __future__ import annotations

import logging
import sys

from bentoml.exceptions import BadInput, InternalServerError
from pydantic import BaseModel, ConfigDict, ValidationError

from serving.client_error_logs import ClientErrorFilter


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # as the service's request bodies

    text: str
    k: int


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "bentoml", logging.ERROR, __file__, 1, "Exception on %s [%s]", ("/triage", "POST"), exc_info
    )


def _validation_error() -> ValidationError:
    try:
        _Body.model_validate({"text": 12345, "k": "secret-value"})
    except ValidationError as error:
        return error
    raise AssertionError("the body should not validate")


def test_a_validation_error_becomes_one_info_line_naming_fields_not_values() -> None:
    record = _record(_validation_error())
    assert ClientErrorFilter().filter(record)
    line = record.getMessage()
    assert record.levelno == logging.INFO and record.exc_info is None
    assert line == "client error on /triage: 2 validation error(s) in k, text"
    assert "secret-value" not in line and "12345" not in line


def test_a_bentoml_client_error_is_quieted_and_a_server_fault_keeps_its_traceback() -> None:
    client = _record(BadInput("bad body: secret-value"))
    ClientErrorFilter().filter(client)
    assert client.levelno == logging.INFO and "secret-value" not in client.getMessage()
    fault = _record(InternalServerError("boom"))
    ClientErrorFilter().filter(fault)
    assert fault.levelno == logging.ERROR and fault.exc_info is not None
    plain = _record(RuntimeError("bug"))
    ClientErrorFilter().filter(plain)
    assert plain.levelno == logging.ERROR and plain.exc_info is not None


def test_an_unknown_key_is_not_written_it_is_the_clients_text() -> None:
    # Regression: the location of an extra_forbidden error is the client's own key, e.g. a card.
    try:
        _Body.model_validate({"text": "x", "k": 1, "card 4111 1111 1111 1111 call me": 1})
    except ValidationError as error:
        record = _record(error)
    ClientErrorFilter().filter(record)
    assert (
        record.getMessage() == "client error on /triage: 1 validation error(s) in an unknown field"
    )
