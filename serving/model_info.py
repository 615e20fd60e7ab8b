"""What `/model_info` and `/admin/reload` report: the served champions, where they came from
(and why each slot serves its registered model), and what could not be loaded, with any
credential in a URI masked.

A tracking or store URI may carry a password (`postgresql://user:secret@host/db`) and a registry
error message often quotes the URI; the answer goes to every `read` key, so the secret part of
every URI in it is replaced by `***` before it leaves the service.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from features.text_splits import Task
from models.served_models import RECOMMENDER_SLOT, triage_slot
from serving.schemas.model_info import ModelInfo, ServedModelInfo
from serving.served_models import ServedModels

# scheme://userinfo@ : the userinfo is masked (its password only when it has a user part).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s]+)@")


def _masked_userinfo(match: re.Match[str]) -> str:
    user, colon, _secret = match["userinfo"].partition(":")
    shown = f"{user}:***" if colon else "***"
    return f"{match['scheme']}{shown}@"


def mask_credentials(text: str) -> str:
    """`text` with the password (or token) of every URI in it replaced by `***`."""
    return _USERINFO.sub(_masked_userinfo, text)


def describe(served: ServedModels, tracking_uri: str) -> ModelInfo:
    """The served models' description (credentials masked)."""
    return ModelInfo(
        ready=served.ready,
        loaded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(served.loaded_at)),
        models={
            slot: ServedModelInfo(
                name=ref.name,
                version=ref.version,
                source=ref.source,
                fetched_at=ref.fetched_at,
                registry_error=mask_credentials(ref.registry_error) if ref.registry_error else None,
                binding=served.slots[slot].binding if slot in served.slots else None,
            )
            for slot, ref in served.refs().items()
        },
        problems=masked_problems(served),
        tracking_uri=mask_credentials(tracking_uri),
    )


def masked_problems(served: ServedModels) -> dict[str, str]:
    """Why each slot is not served, with credentials in URIs masked."""
    return {slot: mask_credentials(why) for slot, why in served.problems.items()}


def feeds_need(slot: str) -> bool:
    """Whether `slot`'s problem explains a feed's 503: the recommender's."""
    return slot == RECOMMENDER_SLOT


def triage_needs(slot: str) -> bool:
    """Whether `slot`'s problem explains triage's 503: a sentiment slot's, standing or a
    language slot, or "triage" (no sentiment model loaded at all)."""
    if slot == "triage":
        return True
    try:
        return triage_slot(slot).task == Task.SENTIMENT
    except KeyError:
        return False


def why_unserved(served: ServedModels, explains: Callable[[str], bool]) -> str:
    """Why what a request needs is not served: the problems of the slots `explains` picks, as
    `slot: reason` sentences (credentials masked). A 503 for a feed named every slot's problem,
    triage's included, as a Python dict."""
    reasons = [f"{slot}: {why}" for slot, why in masked_problems(served).items() if explains(slot)]
    return "; ".join(reasons) or "not loaded yet"


STARTING = ModelInfo(ready=False, models={}, problems={"service": "starting"})
