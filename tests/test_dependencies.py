"""Declared dependencies: every third-party package the code imports is a requirement of its own,
in pyproject.toml (what `make install` installs) and, for the code packed into the Bento
(bentofile.yaml's include), in serving/requirements.txt (all a container image installs); and the
image takes the CPU build of torch.

A package that only arrives with another one disappears when that one's next release drops it, and
in an image the service then stops at start-up, far from the change that caused it.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data", "features", "models", "training", "serving", "cli")
PACKED = ("data", "features", "models", "serving")  # bentofile.yaml's include
SERVING_REQUIREMENTS = ROOT / "serving" / "requirements.txt"


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _serving_requirements() -> list[Requirement]:
    lines = (
        line.split("#", 1)[0].strip() for line in SERVING_REQUIREMENTS.read_text().splitlines()
    )
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def _imported_top_levels(packages: Iterable[str]) -> Iterator[tuple[str, Path]]:
    ours = {*PACKAGES, "__future__"}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {name.split(".")[0] for name in names}:
                    if top not in sys.stdlib_module_names and top not in ours:
                        yield top, path


def _unlisted(packages: Iterable[str], requirements: list[Requirement]) -> list[str]:
    listed = {_name(r.name) for r in requirements}
    providers = metadata.packages_distributions()
    return sorted(
        {
            f"{top} ({path.relative_to(ROOT)})"
            for top, path in _imported_top_levels(packages)
            if not {_name(d) for d in providers.get(top, [])} & listed
        }
    )


@pytest.mark.parametrize(
    ("where", "packages", "requirements"),
    [
        ("pyproject.toml", PACKAGES, _project_requirements()),
        ("serving/requirements.txt", PACKED, _serving_requirements()),
    ],
)
def test_every_package_the_code_imports_is_a_requirement_of_its_own(
    where: str, packages: tuple[str, ...], requirements: list[Requirement]
) -> None:
    unlisted = _unlisted(packages, requirements)
    assert not unlisted, f"{where} lists nothing that provides: {unlisted}"


def test_the_packages_checked_are_the_ones_the_bento_packs() -> None:
    config = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    packed = {i.removesuffix("/**/*.py") for i in config["include"] if i.endswith("/**/*.py")}
    assert packed == set(PACKED)


def test_the_image_takes_the_cpu_build_of_torch_from_pytorchs_index() -> None:
    torch = next(r for r in _serving_requirements() if _name(r.name) == "torch")
    assert str(torch.specifier).endswith("+cpu"), torch  # PyPI's Linux wheel is the CUDA build
    config = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    assert "https://download.pytorch.org/whl/cpu" in config["python"]["extra_index_url"]
