"""Bootstrap creates buckets, stream and schema once; a second run changes nothing."""

from __future__ import annotations

import asyncio

import nats

from acme.bootstrap import bootstrap
from acme.settings import Settings


def test_bootstrap_is_idempotent(settings: Settings) -> None:
    first = bootstrap(settings)
    second = bootstrap(settings)
    assert sorted(first.buckets_created) == sorted(settings.buckets.all())
    assert first.migrations_applied and first.migrations_applied[0].startswith("0001")
    assert second.buckets_created == [] and second.migrations_applied == []

    async def stream_subjects() -> list[str]:
        assert settings.nats_url is not None
        conn = await nats.connect(settings.nats_url)
        info = await conn.jetstream().stream_info(settings.stream)
        await conn.close()
        return list(info.config.subjects or [])

    assert asyncio.run(stream_subjects()) == [f"{settings.subject_prefix}.>"]
