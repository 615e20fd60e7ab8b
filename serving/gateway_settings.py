"""What the service takes from the network in front of it: which proxies may name the client,
and how long a client may take to send its body.

- `AGORA_TRUSTED_PROXIES`: addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `*`) whose
  `X-Forwarded-For` / `X-Forwarded-Proto` the service believes. Default: none. uvicorn, which
  BentoML runs, believed them from 127.0.0.1 by default, so any local process could write
  the client address of the access log (`6.6.6.6:0` in a trial).
- `AGORA_BODY_TIMEOUT_S`: seconds a request's whole body may take to arrive (default 15).
  Without it a client trickling its body held an in-flight slot for the full 60 s request
  timeout and was answered a 504 that blamed the service.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping

from serving.settings import env_number

TRUSTED_PROXIES_ENV = "AGORA_TRUSTED_PROXIES"
BODY_TIMEOUT_ENV = "AGORA_BODY_TIMEOUT_S"
DEFAULT_BODY_TIMEOUT_S = 15.0
# uvicorn reads this when each worker builds its server, unless told otherwise; BentoML passes
# no `forwarded_allow_ips` of its own, so the environment is the one way to set it.
UVICORN_FORWARDED_ENV = "FORWARDED_ALLOW_IPS"


def trusted_proxies(environ: Mapping[str, str] | None = None) -> list[str]:
    """The proxies whose forwarding headers count (AGORA_TRUSTED_PROXIES); ValueError naming an
    entry that is neither an IP address, a network nor `*`."""
    text = (os.environ if environ is None else environ).get(TRUSTED_PROXIES_ENV, "")
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{TRUSTED_PROXIES_ENV}: {entry[:60]!r} is not an IP address or network "
                "(such as 10.0.0.5 or 10.0.0.0/8) nor *"
            ) from None
    return entries


def install_trusted_proxies() -> None:
    """Tell uvicorn which proxies to believe before a worker builds its server: the configured
    ones, or none. A malformed setting trusts none here; the start-up check refuses it."""
    try:
        trusted = trusted_proxies()
    except ValueError:
        trusted = []
    # An empty list matches no client address: forwarding headers are then ignored.
    os.environ[UVICORN_FORWARDED_ENV] = ",".join(trusted)


def body_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a body may take to arrive in full (AGORA_BODY_TIMEOUT_S)."""
    value = (os.environ if environ is None else environ).get(BODY_TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_BODY_TIMEOUT_S
    seconds = env_number(BODY_TIMEOUT_ENV, value, float)
    if not 0 < seconds < math.inf:
        raise ValueError(f"{BODY_TIMEOUT_ENV} must be a positive number of seconds, not {value!r}")
    return seconds
