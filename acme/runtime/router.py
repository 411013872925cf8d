"""The event router: JetStream stream -> triggers -> functions over HTTP (docs/architecture.md §8).

The local equivalent of Knative Eventing's NATS JetStream broker
(docs/decisions/0020-event-router.md):

- one durable pull consumer per trigger on the events stream, named ``<function>-<n>``
  (``n`` counts that function's triggers in order), its filter subject narrowed by the type;
- an event whose type or extension attributes do not match is acked and skipped;
- up to the trigger's ``concurrency`` events are in flight at once (each its own task), so
  a slow delivery does not hold up the next ones;
- matching events are POSTed in binary mode to the function's base URL from
  :meth:`Activator.lease`; a 2xx acks the message (and nothing else does);
- 5xx, 408, 429, timeouts and connection errors NAK the message with the delay
  ``backoff_base * 2**(n-1)`` (capped, jittered), so JetStream redelivers it; the delivery
  count is JetStream's, so retries survive a restart of the router;
- other statuses, and the last failed attempt, dead-letter the event (:mod:`acme.runtime.dlq`)
  and then terminate the message; a crash anywhere before that leaves the message unacked and
  JetStream redelivers it after ``ACME_ROUTER_ACK_WAIT`` (at least once).

Run it with ``await Router(...).run()`` (until cancelled) or ``async with router.serving():``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import httpx
import nats.errors
from cloudevents.http import CloudEvent
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from acme.auth import TokenSource
from acme.auth._delivery import AUDIENCE_PREFIX
from acme.bus import connect, ensure_stream, from_nats_message
from acme.errors import AcmeError, EventError
from acme.log import bind_trace, get_logger
from acme.runtime.delivery import DeliveryMetrics, DeliveryResult, Outcome, backoff_delay, deliver
from acme.runtime.dlq import (
    REPLAY_TOKEN,
    DeadLetter,
    DeadLetterKind,
    DeadLetterQueue,
    StoredMessage,
)
from acme.runtime.dlq import replay_subject as _replay_subject
from acme.runtime.functions import Activator
from acme.settings import Settings

__all__ = ["ATTEMPTS_HEADER", "ATTEMPT_HEADER", "Router", "TriggerSpec", "durable_names"]

ATTEMPT_HEADER: Final = "Acme-Delivery-Attempt"
"""Which delivery of the event this is (1 for the first)."""
ATTEMPTS_HEADER: Final = "Acme-Delivery-Attempts"
"""How many deliveries the trigger allows in all (its retries + 1)."""
FETCH_TIMEOUT: Final = 5.0
"""Seconds one pull request waits for a message."""
_EXTENSION_NAME: Final = re.compile(r"^[a-z0-9]{1,20}$")
_TYPE_FORBIDDEN: Final = frozenset(" \t\r\n>")

_logger = get_logger(__name__)


class TriggerSpec(BaseModel):
    """One trigger: which events go to which function, and how hard to try."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    type: str = Field(
        "*",
        description="Exact CloudEvent type, a prefix ending in '*' "
        "(com.amazonaws.s3.ObjectCreated:*), or '*' for every event.",
    )
    filters: dict[str, str] = Field(
        default_factory=dict, description="Attributes (e.g. pipeline) that must equal the value."
    )
    attempts: int = Field(5, ge=1, le=100, description="Deliveries before dead-lettering.")
    backoff_base: float = Field(0.2, gt=0, description="Seconds before the first retry.")
    backoff_max: float = Field(60.0, gt=0, description="Longest wait between attempts.")
    timeout: float = Field(30.0, gt=0, description="Seconds one HTTP attempt may take.")
    concurrency: int | None = Field(
        None, ge=1, le=1000,
        description="Deliveries in flight at once; unset: ACME_ROUTER_CONCURRENCY.",
    )  # fmt: skip
    audience: str = Field(
        "", description="Audience of the function's delivery tokens; empty: acme/functions/<fn>."
    )

    @field_validator("type")
    @classmethod
    def _type_pattern(cls, value: str) -> str:
        if not value or "*" in value[:-1] or any(ch in _TYPE_FORBIDDEN for ch in value):
            raise ValueError("expected a type, a prefix ending in '*', or '*'")
        return value

    @field_validator("filters")
    @classmethod
    def _filter_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _EXTENSION_NAME.match(name):
                raise ValueError(f"{name!r}: attribute names are 1-20 lower-case letters/digits")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> TriggerSpec:
        if self.backoff_max < self.backoff_base:
            raise ValueError("backoff_max must be at least backoff_base")
        return self

    @property
    def token_audience(self) -> str:
        return self.audience or f"{AUDIENCE_PREFIX}{self.function}"

    def matches(self, event: CloudEvent) -> bool:
        """True when ``event`` has the type and every filtered attribute value."""
        event_type = str(event["type"])
        if self.type.endswith("*"):
            if not event_type.startswith(self.type[:-1]):
                return False
        elif event_type != self.type:
            return False
        return all(event.get(name) == value for name, value in self.filters.items())

    def filter_subjects(self, settings: Settings, durable: str) -> list[str]:
        """The consumer's filter subjects: as narrow as the type allows, plus its replays."""
        if self.type.endswith("*"):
            head = self.type[:-1]
            if "." not in head:
                return [f"{settings.subject_prefix}.>"]
            literal = head.rsplit(".", 1)[0]
            narrowed = f"{settings.subject_prefix}.{literal}.>"
        else:
            narrowed = settings.subject_for(self.type)
        return [narrowed, _replay_subject(settings, durable)]


def durable_names(triggers: Sequence[TriggerSpec]) -> list[str]:
    """``<function>-<n>`` per trigger, ``n`` counting each function's triggers from 0."""
    seen: dict[str, int] = {}
    names = []
    for trigger in triggers:
        index = seen.get(trigger.function, 0)
        seen[trigger.function] = index + 1
        names.append(f"{trigger.function}-{index}")
    return names


@dataclass(frozen=True, slots=True)
class _Route:
    spec: TriggerSpec
    durable: str


class Router:
    """Delivers the events of ``settings.stream`` to functions, one consumer per trigger.

    ``activator`` hands out function base URLs; ``tokens`` signs each delivery for the
    function's audience (docs/decisions/0053-delivery-tokens.md); ``registry`` receives the
    metrics (:class:`~acme.runtime.delivery.DeliveryMetrics`). ``http`` and ``rng`` are
    injectable for tests.

    Besides the event's own headers, each attempt carries ``Authorization: Bearer <token>``,
    ``Acme-Delivery-Attempt`` (1 for the first) and ``Acme-Delivery-Attempts`` (the trigger's
    budget: its retries + 1), so a function knows when it holds the last delivery.
    """

    def __init__(
        self,
        settings: Settings,
        triggers: Sequence[TriggerSpec],
        activator: Activator,
        *,
        tokens: TokenSource,
        registry: CollectorRegistry,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._routes = [
            _Route(spec, durable)
            for spec, durable in zip(triggers, durable_names(triggers), strict=True)
        ]
        self._activator = activator
        self._tokens = tokens
        self.metrics = DeliveryMetrics(registry)
        self._http = http
        self._rng = rng or random.Random()
        self._ready = asyncio.Event()

    async def run(self) -> None:
        """Set up the streams and consumers, then deliver until cancelled."""
        client = await connect(self._settings, "acme-router")
        http = self._http or httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        try:
            js = client.jetstream()
            await ensure_stream(js, self._settings)
            dlq = DeadLetterQueue(js, self._settings)
            await dlq.ensure()
            subscriptions = [await self._subscribe(js, route) for route in self._routes]
            self._ready.set()
            _logger.info("router ready", triggers=[route.durable for route in self._routes])
            async with asyncio.TaskGroup() as group:
                for route, subscription in zip(self._routes, subscriptions, strict=True):
                    group.create_task(self._consume(route, subscription, dlq, http))
        finally:
            self._ready.clear()
            if self._http is None:
                await http.aclose()
            await client.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Router]:
        """Run in a task while the block runs; set-up errors are raised here."""
        task = asyncio.create_task(self.run(), name="acme-router")
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error

    async def _subscribe(
        self, js: JetStreamContext, route: _Route
    ) -> JetStreamContext.PullSubscription:
        spec = route.spec
        config = ConsumerConfig(
            name=route.durable,
            durable_name=route.durable,
            description=f"acme router: {spec.type} {spec.filters or ''} -> {spec.function}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._settings.router_ack_wait,
            max_deliver=-1,
            max_ack_pending=1000,
            filter_subjects=spec.filter_subjects(self._settings, route.durable),
        )
        await js.add_consumer(self._settings.stream, config)
        return await js.pull_subscribe_bind(durable=route.durable, stream=self._settings.stream)

    async def _consume(
        self,
        route: _Route,
        subscription: JetStreamContext.PullSubscription,
        dlq: DeadLetterQueue,
        http: httpx.AsyncClient,
    ) -> None:
        slots = asyncio.Semaphore(route.spec.concurrency or self._settings.router_concurrency)
        async with asyncio.TaskGroup() as handlers:
            while True:
                await slots.acquire()
                try:
                    messages = await subscription.fetch(1, timeout=FETCH_TIMEOUT)
                except TimeoutError:  # nats-py's own or asyncio's, as the wait expired
                    slots.release()
                    continue
                except nats.errors.Error as exc:
                    slots.release()
                    _logger.warning("fetch failed", trigger=route.durable, error=type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                for message in messages:
                    task = handlers.create_task(self._handle_safely(route, message, dlq, http))
                    task.add_done_callback(lambda _done: slots.release())

    async def _handle_safely(
        self, route: _Route, msg: Msg, dlq: DeadLetterQueue, http: httpx.AsyncClient
    ) -> None:
        try:
            await self._handle(route, msg, dlq, http)
        except Exception:
            # NATS, the DLQ or a bug failed mid-way: the event stays unacked and comes back.
            _logger.exception("delivery interrupted", trigger=route.durable)
            await _nak_quietly(msg, route.spec.backoff_max)

    async def _handle(
        self, route: _Route, msg: Msg, dlq: DeadLetterQueue, http: httpx.AsyncClient
    ) -> None:
        spec = route.spec
        if _is_replay_for_other(self._settings, msg.subject, route.durable):
            await msg.ack()
            return
        attempt = msg.metadata.num_delivered
        try:
            event = from_nats_message(msg.headers, msg.data)
        except EventError as exc:
            await self._dead_letter(route, msg, dlq, None, "malformed", f"malformed: {exc}", None)
            return
        bind_trace(event.get("traceparent"))
        log = _logger.bind(trigger=route.durable, event_id=event["id"], type=event["type"])
        if not spec.matches(event):
            self.metrics.deliveries.labels(spec.function, "filtered").inc()
            await msg.ack()
            return
        async with _in_progress(msg, self._settings.router_ack_wait / 3):
            result = await self._attempt(spec, msg, http)
        self.metrics.attempted(spec.function, result)
        if result.outcome is Outcome.DELIVERED:
            await msg.ack()
            log.info("delivered", attempt=attempt, status=result.status)
        elif result.outcome is Outcome.REJECTED:
            reason = f"rejected: {result.describe()}"
            await self._dead_letter(route, msg, dlq, event, "rejected", reason, result)
        elif attempt >= spec.attempts:
            reason = f"{result.describe()} after {attempt} attempts"
            await self._dead_letter(route, msg, dlq, event, "exhausted", reason, result)
        else:
            delay = backoff_delay(
                attempt, base=spec.backoff_base, maximum=spec.backoff_max, rng=self._rng
            )
            self.metrics.retries.labels(spec.function).inc()
            log.warning("retrying", attempt=attempt, answer=result.describe(), delay=delay)
            await msg.nak(delay=delay)

    async def _attempt(
        self, spec: TriggerSpec, msg: Msg, http: httpx.AsyncClient
    ) -> DeliveryResult:
        # The message's headers are binary-mode HTTP headers (docs/decisions/0003): forward
        # them, minus those the router sets itself, with the body as it is.
        headers = {k: v for k, v in (msg.headers or {}).items() if not _ours(k)}
        headers["Authorization"] = f"Bearer {self._tokens.token(spec.token_audience)}"
        headers[ATTEMPT_HEADER] = str(msg.metadata.num_delivered)
        headers[ATTEMPTS_HEADER] = str(spec.attempts)
        try:
            async with self._activator.lease(spec.function) as base_url:
                return await deliver(http, base_url, headers, msg.data, timeout=spec.timeout)
        except (AcmeError, OSError, TimeoutError) as exc:
            return DeliveryResult.failed(f"function unavailable ({type(exc).__name__})")

    async def _dead_letter(
        self,
        route: _Route,
        msg: Msg,
        dlq: DeadLetterQueue,
        event: CloudEvent | None,
        kind: DeadLetterKind,
        reason: str,
        result: DeliveryResult | None,
    ) -> None:
        metadata = msg.metadata
        letter = DeadLetter.model_validate(
            {
                "message": StoredMessage.of(msg.subject, msg.headers, msg.data),
                "event_id": None if event is None else str(event["id"]),
                "event_type": None if event is None else str(event["type"]),
                "event_subject": None if event is None else event.get("subject"),
                "function": route.spec.function,
                "trigger": route.durable,
                "kind": kind,
                "reason": reason,
                "attempts": metadata.num_delivered if result is not None else 0,
                "last_status": None if result is None else result.status,
                "last_body": "" if result is None else result.body,
                "stream": metadata.stream,
                "stream_sequence": metadata.sequence.stream,
                "published_at": metadata.timestamp,
                "dead_lettered_at": datetime.now(UTC),
            }
        )
        await dlq.put(letter)
        await msg.term()
        self.metrics.dead_letters.labels(route.spec.function, kind).inc()
        _logger.error(
            "dead-lettered",
            trigger=route.durable,
            event_id=letter.event_id,
            type=letter.event_type,
            kind=kind,
            attempts=letter.attempts,
            last_status=letter.last_status,
        )


def _ours(header: str) -> bool:
    """Headers of the message the router sets itself (NATS' own, the token, the attempt)."""
    name = header.lower()
    return name.startswith(("nats-", "acme-delivery-")) or name == "authorization"


def _is_replay_for_other(settings: Settings, subject: str, durable: str) -> bool:
    replays = f"{settings.subject_prefix}.{REPLAY_TOKEN}."
    return subject.startswith(replays) and subject != f"{replays}{durable}"


@contextlib.asynccontextmanager
async def _in_progress(msg: Msg, every: float) -> AsyncIterator[None]:
    """Tell JetStream every ``every`` seconds that ``msg`` is still being worked on."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await msg.in_progress()
            except nats.errors.Error as exc:
                _logger.warning("in-progress signal failed", error=type(exc).__name__)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task})


async def _nak_quietly(msg: Msg, delay: float) -> None:
    try:
        await msg.nak(delay=delay)
    except nats.errors.Error as exc:
        _logger.warning("nak failed; JetStream redelivers after ack wait", error=type(exc).__name__)
