"""The worklist's cache in Redis: rendered images and instance metadata, rebuilt on a miss.

Redis holds only what may be lost (docs/architecture.md §5.2): every reader copes with a miss,
and a Redis that fails is logged and bypassed, never an error for the client.
"""

from __future__ import annotations

import redis

from acme.function import Context


class Cache:
    """One kind of cached value (``metadata``, ``rendered``...), kept for
    ``ACME_RENDER_CACHE_SECONDS``."""

    def __init__(self, ctx: Context, kind: str) -> None:
        self._redis = ctx.redis
        self._log = ctx.log
        self._ttl = ctx.settings.render_cache_seconds
        self._prefix = f"acme:{ctx.settings.bucket_prefix}worklist:{kind}:"

    def get(self, key: str) -> bytes | None:
        if self._ttl == 0:
            return None
        try:
            value = self._redis.get(self._prefix + key)
        except redis.RedisError as exc:  # a cache miss: the value is rebuilt
            self._log.warning("cache unavailable; rebuilding", error=type(exc).__name__)
            return None
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes) -> None:
        if self._ttl == 0:
            return
        try:
            self._redis.set(self._prefix + key, value, ex=self._ttl)
        except redis.RedisError as exc:  # not cached: the next reader rebuilds it
            self._log.warning("cache unavailable; not cached", error=type(exc).__name__)
