"""`agora` imports a command group's module only when that group runs, and still lists them all."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from cli.main import GROUP_MODULES, app


def test_help_lists_every_group_and_each_runs() -> None:
    listing = CliRunner().invoke(app, ["--help"])
    assert listing.exit_code == 0, listing.output
    for group in (*GROUP_MODULES, "bento", "serve", "demo"):
        assert f" {group} " in listing.output
    for group in GROUP_MODULES:
        result = CliRunner().invoke(app, [group, "--help"])
        assert result.exit_code == 0, (group, result.output)
        assert f" {group} [OPTIONS] COMMAND" in result.output
        assert "--install-completion" not in result.output  # a group, not a second program


def test_a_command_imports_only_its_own_group() -> None:
    # A fresh interpreter: this test session has imported every group already.
    script = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "result = CliRunner().invoke(app, ['train', 'recommender', '--help'])\n"
        "print(json.dumps([result.exit_code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0
    assert "cli.train" in modules
    others = {f"cli.{group}" for group in GROUP_MODULES} - {"cli.train"}
    assert others.isdisjoint(modules), sorted(others & set(modules))


def test_an_unknown_command_is_refused_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["nosuch"])
    assert result.exit_code == 2
    assert "No such command" in result.output
