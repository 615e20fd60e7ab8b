"""API keys and roles: who may call which route.

`AGORA_API_KEYS` holds comma-separated entries `role:name:key` (or `role:key`: the name is then
`role-` plus the first 8 hex digits of the key's sha256, so logs can tell keys apart without
showing them). Several keys per role allow rotation: add the new key, move clients, drop the old.
Keys are parsed once at start; a bad entry stops the service with a sentence that names the entry
by position and role, never by its key.

Without keys the service refuses to start, unless `AGORA_INSECURE_DEV=1` (every route open, a
loud warning): an unprotected service is a choice, not a default. The old single
`AGORA_API_KEY` is refused too, so an upgrade does not silently open or lock the service.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from serving.settings import (
    API_KEYS_ENV,
    INSECURE_DEV_ENV,
    LEGACY_API_KEY_ENV,
    ROLES,
    insecure_dev,
)

logger = logging.getLogger(__name__)

MIN_KEY_CHARS = 16  # shorter keys are guessable; `secrets.token_hex(16)` gives 32


class ApiKeyConfigError(ValueError):
    """The key configuration is missing or malformed; the message says what to fix."""


class CredentialError(ValueError):
    """A request's credential header holds no key; the message names the header, never its value
    (a client that puts a bare key in `Authorization` would otherwise see it echoed and logged)."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: the key's role and its name (never the key itself)."""

    role: str
    name: str


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    key: bytes


def key_name(role: str, key: str) -> str:
    """The name of a key given without one: role plus a short fingerprint of the key."""
    return f"{role}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


class KeyRing:
    """The accepted keys, each with its principal; `identify` compares in constant time."""

    def __init__(self, entries: list[_Entry]) -> None:
        if not entries:
            raise ApiKeyConfigError(f"{API_KEYS_ENV} holds no key")
        self._entries = tuple(entries)

    @property
    def principals(self) -> list[Principal]:
        return [entry.principal for entry in self._entries]

    def identify(self, presented: str) -> Principal | None:
        """The principal of `presented`, or None. Every key is compared (no early exit), so
        the time taken does not tell how close a guess was or which key it matched."""
        candidate = presented.encode()
        found: Principal | None = None
        for entry in self._entries:
            if hmac.compare_digest(candidate, entry.key):
                found = entry.principal
        return found


def presented_keys(api_key_headers: list[str], authorization_headers: list[str]) -> set[str]:
    """The distinct keys a request sends as `X-API-Key` or `Authorization: Bearer` headers.

    A header of the service's own kinds must carry a key: an empty `X-API-Key` or an empty Bearer
    token raises CredentialError even beside a good key. Skipping them let `X-API-Key: ` plus a
    valid Bearer key through, and what a gateway in front made of the empty header (checked it?
    passed it as "no key"?) is a guess, as with two different keys. An `Authorization` of another
    scheme (`Basic`, a bare value) is not a key of the service: beside an `X-API-Key` it is a
    gateway's own credential and is left alone; alone it is refused with the scheme to use.
    """
    keys: set[str] = set()
    for value in api_key_headers:
        if not value.strip():
            raise CredentialError("X-API-Key is empty: send the key in it, or leave the header out")
        keys.add(value.strip())
    for value in authorization_headers:
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "bearer" and not token.strip():
            raise CredentialError("Authorization: Bearer holds no key: send 'Bearer <key>'")
        if scheme.lower() == "bearer":
            keys.add(token.strip())
        elif not api_key_headers:
            raise CredentialError(
                "Authorization is not 'Bearer <key>' (the only scheme the service takes): send "
                "the key as Authorization: Bearer <key> or as X-API-Key"
            )
    return keys


def parse_api_keys(text: str) -> KeyRing:
    """The key ring of an `AGORA_API_KEYS` value; ApiKeyConfigError names a bad entry."""
    entries: list[_Entry] = []
    names: set[str] = set()
    keys: set[str] = set()
    for position, raw in enumerate(text.split(","), start=1):
        part = raw.strip()
        if not part:
            continue
        fields = part.split(":")
        role = fields[0].strip()
        where = f"{API_KEYS_ENV} entry {position}"
        if len(fields) not in (2, 3):
            raise ApiKeyConfigError(f"{where} is not role:name:key or role:key")
        if role not in ROLES:
            raise ApiKeyConfigError(
                f"{where} has an unknown role {role!r}: use one of {', '.join(sorted(ROLES))}"
            )
        key = fields[-1].strip()
        name = fields[1].strip() if len(fields) == 3 else key_name(role, key)
        if not name:
            raise ApiKeyConfigError(f"{where} (role {role}) has an empty name")
        if len(key) < MIN_KEY_CHARS:
            raise ApiKeyConfigError(
                f"{where} (role {role}, name {name}) has a key shorter than {MIN_KEY_CHARS} "
                "characters: generate one with `python -c 'import secrets; "
                "print(secrets.token_hex(16))'`"
            )
        if name in names:
            raise ApiKeyConfigError(f"{where} (role {role}) repeats the name {name!r}")
        if key in keys:
            raise ApiKeyConfigError(
                f"{where} (role {role}, name {name}) reuses a key of an earlier entry"
            )
        names.add(name)
        keys.add(key)
        entries.append(_Entry(Principal(role, name), key.encode()))
    return KeyRing(entries)


def key_ring_from_env(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The configured key ring; None in insecure development mode (every route open).

    Raises ApiKeyConfigError when the service must not start: no keys, only the old single key,
    or a malformed entry.
    """
    env = os.environ if environ is None else environ
    if insecure_dev(env):
        return None
    configured = env.get(API_KEYS_ENV, "").strip()
    if not configured:
        if env.get(LEGACY_API_KEY_ENV):
            raise ApiKeyConfigError(
                f"{LEGACY_API_KEY_ENV} is no longer read: set {API_KEYS_ENV} to role:name:key "
                f"entries instead (roles: {', '.join(sorted(ROLES))})"
            )
        raise ApiKeyConfigError(
            f"the service refuses to start without API keys: set {API_KEYS_ENV} to "
            f"role:name:key entries (roles: {', '.join(sorted(ROLES))}), or "
            f"{INSECURE_DEV_ENV}=1 for an open local development service"
        )
    return parse_api_keys(configured)


def check_start_keys(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """Validate the key configuration at start-up and log what will be enforced.

    Raises ApiKeyConfigError (the caller lets it stop the service).
    """
    ring = key_ring_from_env(environ)
    if ring is None:
        logger.warning(
            "!!! %s=1: EVERY ROUTE IS OPEN WITHOUT A KEY. Local development only; never expose "
            "this service. !!!",
            INSECURE_DEV_ENV,
        )
        return None
    by_role: dict[str, list[str]] = {}
    for principal in ring.principals:
        by_role.setdefault(principal.role, []).append(principal.name)
    logger.info("API keys loaded: %s", {role: sorted(n) for role, n in sorted(by_role.items())})
    return ring
