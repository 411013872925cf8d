"""Redis: only for what may be lost.

docs/architecture.md §5: Redis holds caches (rendered images), rate limits and short-lived locks,
nothing else. Whatever is kept here must be rebuildable from PostgreSQL and object storage,
and every reader must cope with a miss: the embedded Redis runs without persistence
(``--save ''``) and a restart empties it. Never store study state, audit records or anything
that is the only copy of a fact.
"""

from __future__ import annotations

import time
from typing import Final
from urllib.parse import urlsplit

import redis

from acme.errors import ConfigError
from acme.settings import Settings

__all__ = ["make_redis"]

SETTING: Final = "ACME_REDIS_URL"


def make_redis(settings: Settings) -> redis.Redis:
    """A Redis client for ``settings.redis_url`` that has answered a ``PING``.

    Waits up to ``settings.startup_timeout`` seconds for the server. Raises
    :class:`ConfigError` naming ``ACME_REDIS_URL`` when the URL is missing or malformed, the
    server refuses the login, or it cannot be reached; the password is never in a message.
    """
    if not settings.redis_url:
        raise ConfigError(SETTING, "no Redis URL is set (expected redis://host:port/db)")
    where = _redacted(settings.redis_url)
    try:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=5,
            socket_timeout=5,
            health_check_interval=30,
            client_name="acme",
        )
    except ValueError as exc:
        raise ConfigError(SETTING, f"not a valid Redis URL ({exc})") from None
    deadline = time.monotonic() + settings.startup_timeout
    delay = 0.1
    while True:
        try:
            client.ping()
            return client
        except redis.AuthenticationError as exc:
            client.close()
            raise ConfigError(
                SETTING, f"Redis at {where} refused the login: wrong user name or password ({exc})"
            ) from None
        except redis.ResponseError as exc:
            client.close()
            problem = (
                "requires a password and none was given"
                if "NOAUTH" in str(exc)
                else f"refused PING ({exc})"
            )
            raise ConfigError(SETTING, f"Redis at {where} {problem}") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if time.monotonic() + delay >= deadline:
                client.close()
                raise ConfigError(
                    SETTING,
                    f"cannot reach Redis at {where} within {settings.startup_timeout:g}s ({exc})",
                ) from None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else "?"
    return f"{parts.scheme}://{host}{parts.path}"
