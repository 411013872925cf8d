"""make_redis against the real Redis of the test stack."""

from __future__ import annotations

import pytest

from acme.cache import make_redis
from acme.errors import ConfigError
from acme.settings import Settings


def test_ping_set_get(settings: Settings) -> None:
    client = make_redis(settings)
    key = f"{settings.bucket_prefix}render:1.2.3"
    try:
        assert client.ping() is True
        assert client.set(key, b"\x89PNG", ex=60) is True
        assert client.get(key) == b"\x89PNG"
        assert 0 < client.ttl(key) <= 60
    finally:
        client.delete(key)
        client.close()


def test_unreachable_redis_names_the_setting(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"redis_url": "redis://:secret@127.0.0.1:9/0", "startup_timeout": 1.0}
    )

    with pytest.raises(ConfigError) as caught:
        make_redis(unreachable)

    assert caught.value.setting == "ACME_REDIS_URL"
    assert "cannot reach Redis at redis://127.0.0.1:9/0" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_password_refused_is_a_login_error(settings: Settings) -> None:
    assert settings.redis_url is not None
    with_password = settings.redis_url.replace("redis://", "redis://nobody:not-it@", 1)

    with pytest.raises(
        ConfigError, match=r"ACME_REDIS_URL: Redis at .* refused the login"
    ) as caught:
        make_redis(settings.model_copy(update={"redis_url": with_password}))

    assert "not-it" not in str(caught.value)


def test_missing_and_malformed_urls(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="ACME_REDIS_URL: no Redis URL is set"):
        make_redis(settings.model_copy(update={"redis_url": None}))
    with pytest.raises(ConfigError, match="ACME_REDIS_URL: not a valid Redis URL"):
        make_redis(settings.model_copy(update={"redis_url": "http://127.0.0.1:6379"}))
