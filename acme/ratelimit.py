"""Fixed-window rate limits kept in Redis (what may be lost: a restart only resets counts).

``FixedWindow(redis, name=..., limit=60, window=60).allow(key)`` is True for the first
``limit`` calls with ``key`` in each window of ``window`` seconds. Keys are hashed, so a
client-supplied value never becomes part of a Redis key as it is. When Redis cannot be reached
the limit is not enforced (``allow`` is True): what it guards (audit records) must not be
dropped because a cache is down.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import redis

from acme.log import get_logger

_logger = get_logger(__name__)


class FixedWindow:
    """At most ``limit`` uses per ``key`` in each ``window``-second slot."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        name: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self._redis = client
        self._name = name
        self.limit = limit
        self.window = window
        self._clock = clock

    def allow(self, key: str) -> bool:
        """Count one use of ``key``; True while it is within the limit."""
        slot = int(self._clock() // self.window)
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
        redis_key = f"acme:limit:{self._name}:{slot}:{digest}"
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incr(redis_key)
            pipe.expire(redis_key, int(self.window * 2) + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            _logger.warning("rate limit not enforced: Redis unavailable", limit=self._name,
                            error=type(exc).__name__)  # fmt: skip
            return True
        return int(count) <= self.limit

    def retry_after(self) -> int:
        """Seconds until the current window ends."""
        now = self._clock()
        return max(1, int(self.window - (now % self.window)) + 1)
