"""Shared by the CLI's refusal tests: a command refused with one sentence before any work."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import training.batch
from cli.main import app
from training.recommender import steps
from training.triage import pipeline as triage_pipeline


def forbid_work(monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """Make reading any data fail loudly: a command that reads it checked `what` too late."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the command started its work before checking its {what}")

    monkeypatch.setattr(steps, "load_dataset", refuse)
    monkeypatch.setattr(steps, "prepare_split", refuse)
    monkeypatch.setattr(triage_pipeline, "load_split", refuse)
    monkeypatch.setattr(training.batch, "read_texts", refuse)


def refused(args: list[str], *fragments: str) -> str:
    """Run `agora ARGS`; assert exit 2 with exactly one `error:` line holding every fragment."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
