"""Where token signing keys come from: a JWKS file or a JWKS URL.

Both are :class:`KeySource`s: ``key_for(kid, alg)`` returns the public key that must verify a
token, or raises :class:`~acme.auth.Unauthenticated` saying why there is none. A key set is
loaded on first use and kept; a token naming an unknown ``kid`` makes the source look again
(the provider rotated its keys), at most once per ``min_refresh`` seconds so that forged kids
cannot make us hammer the provider. Keys of other types or uses (encryption keys in
Keycloak's set) are skipped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, RSAKey

from acme.auth._principal import Unauthenticated
from acme.errors import AcmeError
from acme.log import get_logger

ALGORITHMS = ("RS256", "ES256")
"""The only signature algorithms accepted (``none`` and the HMAC family are refused)."""

_KEY_TYPES: Mapping[str, tuple[type[Key], str | None]] = {
    "RS256": (RSAKey, None),
    "ES256": (ECKey, "P-256"),
}
_MIN_REFRESH = 10.0
_log = get_logger("acme.auth")


class KeySetError(AcmeError):
    """A JWKS document could not be read or holds no usable key; the message says where."""


class KeySource(Protocol):
    """The public keys tokens are verified with."""

    def key_for(self, kid: str | None, alg: str) -> Key:
        """The key for a token's ``kid`` and ``alg``; :class:`Unauthenticated` if none."""
        ...


def parse_jwks(document: object, origin: str) -> dict[str, Key]:
    """The signature keys of a JWKS document by ``kid`` (a key without one gets its thumbprint).

    Raises :class:`KeySetError` naming ``origin`` when the document is not a key set.
    """
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise KeySetError(f"{origin}: expected a JSON Web Key Set ({{'keys': [...]}})")
    found: dict[str, Key] = {}
    for index, entry in enumerate(keys):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC"):
            continue
        try:
            key = JWKRegistry.import_key(_public_part(entry))
        except (JoseError, ValueError, TypeError) as exc:
            _log.warning(
                "skipping an unusable JWKS key", origin=origin, index=index, error=str(exc)
            )
            continue
        key.ensure_kid()
        found[str(key.kid)] = key
    return found


def _public_part(entry: dict[str, Any]) -> dict[str, Any]:
    private = {"d", "p", "q", "dp", "dq", "qi", "oth"}
    return {name: value for name, value in entry.items() if name not in private}


def select_key(keys: Mapping[str, Key], kid: str | None, alg: str, origin: str) -> Key | None:
    """The key of ``kid`` (or the only key fit for ``alg`` when the token names none).

    None when ``kid`` is unknown; :class:`Unauthenticated` when the key cannot verify ``alg``.
    """
    key_type, curve = _KEY_TYPES[alg]
    if kid is None:
        fit = [key for key in keys.values() if isinstance(key, key_type)]
        if len(fit) != 1:
            raise Unauthenticated(
                f"the token names no key (kid) and {origin} holds {len(fit)} {alg} keys"
            )
        key = fit[0]
    else:
        found = keys.get(kid)
        if found is None:
            return None
        key = found
    if not isinstance(key, key_type) or (curve is not None and key.get("crv") != curve):
        raise Unauthenticated(f"key {key.kid!r} of {origin} cannot verify {alg} signatures")
    if key.get("alg") not in (None, alg):
        raise Unauthenticated(f"key {key.kid!r} of {origin} is for {key.get('alg')}, not {alg}")
    return key


class _CachedKeys:
    """Keys loaded by ``load``; reloaded when older than ``max_age`` or on an unknown kid."""

    def __init__(
        self,
        origin: str,
        load: Callable[[], dict[str, Key]],
        *,
        max_age: float | None,
        min_refresh: float,
        clock: Callable[[], float],
    ) -> None:
        self._origin = origin
        self._load = load
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Key] | None = None
        self._attempted_at: float | None = None
        self._failure: str | None = None

    def key_for(self, kid: str | None, alg: str) -> Key:
        with self._lock:
            now = self._clock()
            if self._keys is None or self._stale(now):
                self._reload(now)
            assert self._keys is not None
            key = select_key(self._keys, kid, alg, self._origin)
            if key is None and self._may_retry(now):
                self._reload(now)
                key = select_key(self._keys, kid, alg, self._origin)
            if key is None:
                raise Unauthenticated(f"the token's key {kid!r} is not in {self._origin}")
            return key

    def _may_retry(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_refresh

    def _stale(self, now: float) -> bool:
        if self._max_age is None or self._attempted_at is None:
            return False
        return now - self._attempted_at > self._max_age

    def _reload(self, now: float) -> None:
        """Load the keys; without any, a failure is raised again (not retried) for a while."""
        if self._keys is None and self._failure is not None and not self._may_retry(now):
            raise Unauthenticated(f"no signing keys to verify the token with: {self._failure}")
        self._attempted_at = now
        try:
            self._keys = self._load()
            self._failure = None
        except KeySetError as exc:
            self._failure = str(exc)
            if self._keys is None:
                raise Unauthenticated(f"no signing keys to verify the token with: {exc}") from None
            _log.warning("keeping the previous signing keys", error=str(exc))


class JwksFile:
    """Keys from a JWKS file (the local key's ``jwks.json``, or one exported from a provider).

    The file is read again when a token names a kid it does not hold (after key rotation).
    """

    def __init__(
        self,
        path: Path,
        *,
        min_refresh: float = _MIN_REFRESH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._cache = _CachedKeys(
            f"the JWKS file {path}", self._read, max_age=None, min_refresh=min_refresh, clock=clock
        )

    def key_for(self, kid: str | None, alg: str) -> Key:
        return self._cache.key_for(kid, alg)

    def _read(self) -> dict[str, Key]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeySetError(f"{self.path}: no such file (ACME_AUTH_JWKS_FILE)") from None
        except (OSError, ValueError) as exc:
            raise KeySetError(f"{self.path}: cannot read a JWKS ({exc})") from None
        return parse_jwks(document, str(self.path))


class JwksUrl:
    """Keys from the provider's JWKS URL, kept ``max_age`` seconds; ``client`` is injectable."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float,
        client: httpx.Client | None = None,
        timeout: float = 5.0,
        min_refresh: float = _MIN_REFRESH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client
        self._timeout = timeout
        self._cache = _CachedKeys(
            f"the JWKS at {url}", self._fetch, max_age=max_age, min_refresh=min_refresh,
            clock=clock,
        )  # fmt: skip

    def key_for(self, kid: str | None, alg: str) -> Key:
        return self._cache.key_for(kid, alg)

    def _fetch(self) -> dict[str, Key]:
        headers = {"Accept": "application/jwk-set+json, application/json"}
        try:
            if self._client is not None:
                response = self._client.get(self.url, headers=headers, timeout=self._timeout)
            else:
                response = httpx.get(self.url, headers=headers, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
        except httpx.HTTPError as exc:
            raise KeySetError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        except ValueError:
            raise KeySetError(f"{self.url}: the answer is not JSON") from None
        return parse_jwks(document, self.url)
