"""Typed, frozen configuration: one pydantic model per component, loadable from YAML.

Unknown keys are rejected and every field is validated before any work starts, so a typo in a
config file fails at once with the field's name instead of silently training something else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ConfigT = TypeVar("ConfigT", bound="FrozenConfig")
_VALIDATOR_PREFIX = "Value error, "


class ConfigError(ValueError):
    """A configuration value or file is invalid; the message names the field."""


class FrozenConfig(BaseModel):
    """Base for component configs: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_mapping(cls: type[ConfigT], values: dict[str, Any] | None) -> ConfigT:
        try:
            return cls.model_validate(values or {})
        except ValidationError as error:
            raise ConfigError(describe_validation_error(cls.__name__, error)) from None

    @classmethod
    def from_yaml(cls: type[ConfigT], path: str | Path) -> ConfigT:
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot read config {path}: {error}") from None
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"config {path} must be a mapping of field: value")
        return cls.from_mapping(values)


def describe_validation_error(name: str, error: ValidationError) -> str:
    """One line per problem, each naming the field: 'factors: Input should be greater than 0'."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(config)"
        message = "unknown field" if problem["type"] == "extra_forbidden" else problem["msg"]
        # A validator's own sentence, without pydantic's "Value error, " before it.
        message = message.removeprefix(_VALIDATOR_PREFIX)
        lines.append(f"{field}: {message}")
    return f"invalid {name}: " + "; ".join(lines)
