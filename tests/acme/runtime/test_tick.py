"""The tick source: one event per interval slot, increasing sequences, one tick per slot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jetstream import published

from acme.bus import InMemoryBus, NatsBus
from acme.events.types import EventType
from acme.runtime.tick import TICK_SOURCE, TickSource, tick_event
from acme.settings import Settings


def test_tick_of_a_slot_is_deterministic() -> None:
    first, again, next_one = tick_event(100, 5.0), tick_event(100, 5.0), tick_event(101, 5.0)
    assert first["id"] == again["id"] != next_one["id"]
    assert first["type"] == EventType.TICK
    assert first["source"] == TICK_SOURCE
    assert first.get_data()["sequence"] == 100
    assert first["time"] == "1970-01-01T00:08:20Z"
    assert tick_event(100, 2.5)["id"] != first["id"]  # another interval, another series


def test_a_source_ticks_once_per_slot_and_never_catches_up() -> None:
    now = [1000.0]
    bus = InMemoryBus()
    source = TickSource(bus, interval=10, clock=lambda: now[0])

    async def steps() -> list[float]:
        waits = [await source.step()]
        now[0] = 1009.5
        waits.append(await source.step())
        now[0] = 1095.0  # asleep for eight slots
        waits.append(await source.step())
        return waits

    waits = asyncio.run(steps())
    assert [event.get_data()["sequence"] for event in bus.published] == [100, 109]
    assert waits == [10.0, 0.5, 5.0]


def _tick_sequences(settings: Settings) -> list[int]:
    return [event.get_data()["sequence"] for event in published(settings, EventType.TICK)]


def test_two_sources_tick_once_per_slot_with_increasing_sequences(
    settings: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    env.update(
        ACME_HOME=str(tmp_path / "home"),
        ACME_NATS_URL=settings.nats_url or "",
        ACME_STREAM=settings.stream,
        ACME_SUBJECT_PREFIX=settings.subject_prefix,
        ACME_TICK_SECONDS="0.25",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "acme.runtime.tick"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _tick_sequences(settings):  # the process is up and ticking (imports are slow on a
            assert process.poll() is None, process.communicate()[1]  # loaded machine)
            assert time.monotonic() < deadline, "the tick process never ticked"
            time.sleep(0.2)
        with NatsBus(settings) as bus:

            async def in_process() -> None:
                stop = asyncio.Event()
                task = asyncio.create_task(TickSource(bus, interval=0.25).run(stop))
                await asyncio.sleep(2.0)
                stop.set()
                await task

            asyncio.run(in_process())
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err

    sequences = _tick_sequences(settings)
    assert len(sequences) >= 4
    assert len(sequences) == len(set(sequences))  # no slot ticked twice
    assert sequences[-1] - sequences[0] >= len(sequences) - 1  # one tick per slot at most
