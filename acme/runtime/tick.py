"""The ``org.acme.imaging.tick`` heartbeat: one event per interval slot.

See docs/architecture.md §2 and §8.

Time is cut into slots of ``ACME_TICK_SECONDS``; slot ``n`` starts at ``n * interval`` seconds
after the Unix epoch. Each slot gives one tick whose ``sequence`` is ``n`` (so it increases by
one per slot, across restarts, with no state to keep) and whose ``id`` is derived from the
interval and ``n``: two tick sources running at once publish the same id for the same slot,
and JetStream keeps one (docs/decisions/0023-tick-source.md). A source that falls behind
ticks once for the current slot, never a burst for the slots it missed.

Run it as a task (``await TickSource(bus, interval=...).run(stop)``), or as its own process,
``python -m acme.runtime.tick`` (the Knative ContainerSource: it publishes to ``K_SINK``).
"""

from __future__ import annotations

import asyncio
import math
import signal
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from cloudevents.http import CloudEvent

from acme.bus import Bus, make_bus
from acme.errors import BusError
from acme.events.cloudevents import new_event
from acme.events.models import Tick
from acme.events.types import EventType
from acme.log import configure_logging, get_logger
from acme.settings import load_settings
from acme.stack.state import connect_settings

__all__ = ["TICK_SOURCE", "TickSource", "main", "tick_event"]

TICK_SOURCE: Final = "/acme/tick"
RETRY_DELAY: Final = 0.5
"""Seconds before a tick that could not be published is tried again (within its slot)."""

_logger = get_logger(__name__)


def tick_event(slot: int, interval: float) -> CloudEvent:
    """The tick of ``slot``: time = the slot's start, id = a UUID of (interval, slot)."""
    at = datetime.fromtimestamp(slot * interval, UTC)
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:acme:tick:{interval!r}:{slot}")
    return new_event(
        EventType.TICK,
        Tick(at=at, sequence=slot),
        source=TICK_SOURCE,
        time=at,
        event_id=str(event_id),
    )


class TickSource:
    """Publishes a tick at the start of every slot until stopped."""

    def __init__(
        self, bus: Bus, *, interval: float, clock: Callable[[], float] = time.time
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval: expected seconds > 0, got {interval}")
        self._bus = bus
        self._interval = interval
        self._clock = clock
        self.last_slot: int | None = None

    def slot_at(self, now: float) -> int:
        return math.floor(now / self._interval)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick at every slot start until ``stop`` is set."""
        while not stop.is_set():
            wait = await self.step()
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                continue

    async def step(self) -> float:
        """Tick unless the current slot has ticked; return the seconds until the next step."""
        slot = self.slot_at(self._clock())
        if self.last_slot is None or slot > self.last_slot:
            await self._tick(slot)
        if self.last_slot != slot:
            return RETRY_DELAY
        return max((slot + 1) * self._interval - self._clock(), 0.0)

    async def _tick(self, slot: int) -> None:
        event = tick_event(slot, self._interval)
        try:
            await asyncio.to_thread(self._bus.publish, event)
        except BusError as exc:
            _logger.warning("tick not published; retrying", sequence=slot, error=str(exc))
            return
        self.last_slot = slot
        _logger.debug("tick", sequence=slot, event_id=event["id"])


async def _run(bus: Bus, interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await TickSource(bus, interval=interval).run(stop)


def main() -> None:
    """Entry point of ``python -m acme.runtime.tick``."""
    settings = connect_settings(load_settings())
    configure_logging(settings, service="tick")
    bus = make_bus(settings, name="acme-tick")
    try:
        asyncio.run(_run(bus, settings.tick_seconds))
    finally:
        bus.close()


if __name__ == "__main__":
    main()
