"""`agora serve`'s exit code when the service does not start, with a stand-in child process."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

import cli.main
from cli.launcher import ServiceProcess, free_port


def _child_exiting_with(code: int) -> type[ServiceProcess]:
    @dataclass
    class Exiting(ServiceProcess):
        def command(self) -> list[str]:
            script = f"import sys; print('error: refused', file=sys.stderr); sys.exit({code})"
            return [sys.executable, "-c", script]

    return Exiting


def test_a_refused_configuration_exits_2_like_the_service_with_no_second_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: `agora serve` exited 1 ("the service exited with code 2") on a refused config."""
    monkeypatch.setattr(cli.main, "ServiceProcess", _child_exiting_with(2))
    result = CliRunner().invoke(cli.main.app, ["serve", "--port", str(free_port())])
    assert result.exit_code == 2
    assert "exited with code" not in result.output


def test_a_service_that_fails_otherwise_is_a_failed_step_naming_its_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli.main, "ServiceProcess", _child_exiting_with(3))
    result = CliRunner().invoke(cli.main.app, ["serve", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "the service exited with code 3" in result.output
