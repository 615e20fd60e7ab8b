"""What `/model_info` and `/admin/reload` answer (and the reload's empty body)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from serving.schemas.fields import RequestBody


class ReloadRequest(RequestBody):
    """`/admin/reload` takes an empty body or `{}`."""


class ServedModelInfo(BaseModel):
    name: str
    version: str
    source: str  # "registry" or "local-cache"
    fetched_at: str
    registry_error: str | None = None
    binding: str | None = Field(
        None,
        description="Why the slot serves this registered model: 'environment' (pinned by "
        "AGORA_TRIAGE_MODELS / AGORA_RECOMMENDER_MODEL), 'registry' (bound by `agora models "
        "promote --slot`), 'local-cache' (that binding as last read, the registry being "
        "unreachable) or 'default' (nothing bound).",
    )


class ModelInfo(BaseModel):
    ready: bool
    loaded_at: str | None = None
    models: dict[str, ServedModelInfo]
    problems: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Slot -> why it is not served; also 'triage_config' (a triage config file not "
            "reloaded) and 'routing' (routing rules that never match the served models' labels)."
        ),
    )
    tracking_uri: str | None = Field(None, description="Credentials masked.")


class ReloadResponse(ModelInfo):
    reloaded: bool
    changed: bool = Field(description="True when a served version changed.")
