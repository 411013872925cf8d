"""What every function gets: a :class:`Context` of clients and the decorator ``main.py`` uses.

A function's ``main.py`` is one short handler::

    @cloudevent_function("dicom-ingest")
    def handler(ctx: Context, event: Event) -> None:
        ...

The decorator turns it into a functions-framework target that takes binary- or
structured-mode CloudEvents over HTTP. It reads the settings once per process and, for each
request, in this order:

1. verifies the delivery token (``Authorization: Bearer``, :class:`acme.auth.DeliveryVerifier`)
   before reading anything else of the request: no token, another function's audience or an
   expired token is a 401 and nothing more happens (no client is even built);
2. parses the CloudEvent and validates its data against the type's model (400 when malformed);
3. builds the clients on first use (object store, PostgreSQL pool with migrations applied,
   bus, Redis), binds the event's trace to every log line and runs the handler.

A handled event is answered 200 with an empty body (``Content-Length: 0``), not 204: waitress
closes the connection after every response without a Content-Length, and a 204 may not carry
one, so each delivery would cost the router a new connection. Errors map onto answers the
router understands: a :class:`Rejected` outcome is a 400 (never retried), anything else a 500
(retried with backoff, then dead-lettered).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import flask
import functions_framework
import psycopg
import redis
import structlog
from cloudevents.http import CloudEvent
from psycopg.rows import TupleRow
from werkzeug.exceptions import BadRequest

from acme.auth import DeliveryVerifier, Unauthenticated
from acme.bus import Bus, make_bus
from acme.cache import make_redis
from acme.db import Pool, apply_migrations, make_pool
from acme.errors import AcmeError, EventError
from acme.events import event_data, new_event, parse_http, traceparent_of
from acme.events.models import EventData
from acme.feed import FEED_TYPES, sequence_after_commit
from acme.log import bind_trace, configure_logging, get_logger
from acme.outbox import publish_staged, stage
from acme.settings import Settings, load_settings
from acme.storage import ObjectStore, S3ObjectStore, make_s3_client

T = TypeVar("T")
_logger = get_logger(__name__)


class Rejected(AcmeError):
    """The event can never succeed (e.g. it names something that cannot exist): answer 400."""


ATTEMPT_HEADER = "Acme-Delivery-Attempt"
ATTEMPTS_HEADER = "Acme-Delivery-Attempts"


@dataclass(frozen=True)
class Delivery:
    """Which delivery of an event this is, and how many the trigger allows in all.

    The router says so in ``Acme-Delivery-Attempt`` and ``Acme-Delivery-Attempts`` (the
    stack.yml trigger's retries + 1). A broker that does not (Knative's) leaves ``attempt``
    unknown, and ``attempts`` comes from ``ACME_DELIVERY_ATTEMPTS`` when the deployment sets it.
    """

    attempt: int | None = None
    attempts: int | None = None

    @property
    def last(self) -> bool:
        """True when no further delivery will come if this one fails."""
        return (
            self.attempt is not None
            and self.attempts is not None
            and (self.attempt >= self.attempts)
        )

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], settings: Settings) -> Delivery:
        lowered = {key.lower(): value for key, value in headers.items()}
        return cls(
            attempt=_count(lowered.get(ATTEMPT_HEADER.lower())),
            attempts=_count(lowered.get(ATTEMPTS_HEADER.lower())) or settings.delivery_attempts,
        )


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and 0 < int(value) < 10_000 else None


@dataclass(frozen=True)
class Event:
    """A received CloudEvent with its data validated against its type's model."""

    id: str
    type: str
    source: str
    subject: str | None
    traceparent: str | None
    data: EventData
    raw: CloudEvent
    delivery: Delivery = Delivery()

    @classmethod
    def from_cloudevent(cls, event: CloudEvent, delivery: Delivery | None = None) -> Event:
        subject = event.get("subject")
        return cls(
            id=str(event["id"]),
            type=str(event["type"]),
            source=str(event["source"]),
            subject=str(subject) if subject is not None else None,
            traceparent=traceparent_of(event),
            data=event_data(event),
            raw=event,
            delivery=delivery or Delivery(),
        )


class Resources:
    """What a function process builds once and keeps (loaded models, parsed rules).

    ``get(Kind)`` returns this process's one ``Kind()``, built on first use; concurrent
    requests share it. Nothing here may hold data of one request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[type[Any], Any] = {}

    def get(self, kind: type[T]) -> T:
        with self._lock:
            if kind not in self._items:
                self._items[kind] = kind()
            item: T = self._items[kind]
            return item


@dataclass(frozen=True)
class Context:
    """The clients of one function process, built once from one :class:`Settings`."""

    name: str
    settings: Settings
    store: ObjectStore
    db: Pool
    bus: Bus
    redis: redis.Redis
    log: structlog.stdlib.BoundLogger
    resources: Resources = field(default_factory=Resources)

    @property
    def source(self) -> str:
        """The CloudEvent ``source`` of the events this function emits."""
        return f"/acme/functions/{self.name}"

    def emit(
        self,
        event_type: str,
        data: EventData,
        *,
        traceparent: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """Publish an event that announces nothing stored (an access record), now: waits until
        the bus accepted it. An event announcing a database change goes through
        :meth:`transaction` instead."""
        self.bus.publish(
            new_event(
                event_type, data, source=self.source, traceparent=traceparent, event_id=event_id
            )
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A database transaction whose events are announced once it has committed.

        ``tx.conn`` is the connection; ``tx.emit(...)`` stages an event in the outbox in the
        same transaction (:mod:`acme.outbox`). After the commit the events are published; if
        the bus refuses, they stay staged and the outbox relay publishes them. A rollback
        drops them with the change.
        """
        with self.db.connection() as conn, conn.transaction():
            tx = Transaction(self, conn)
            yield tx
        self.announce(tx.events)

    def announce(self, events: list[CloudEvent]) -> None:
        """Publish events staged in a transaction that has committed (what :meth:`transaction`
        does on its own; a caller that ran ``Transaction(ctx, conn)`` on a connection of its
        own calls it after the commit), and number their change-feed entries
        (:mod:`acme.feed`)."""
        if not events:
            return
        publish_staged(self.db, self.bus, events)
        if any(str(event["type"]) in FEED_TYPES for event in events):
            sequence_after_commit(self.db)

    @classmethod
    def open(cls, name: str, settings: Settings) -> Context:
        """Connect to every server; applies pending database migrations (idempotent).

        When a later client cannot be built, the ones already opened are closed before the
        error is raised.
        """
        with contextlib.ExitStack() as opened:
            db = make_pool(settings, application_name=name)
            opened.callback(db.close)
            apply_migrations(db)
            store = S3ObjectStore(make_s3_client(settings))
            bus = make_bus(settings, name=name)
            opened.callback(bus.close)
            client = make_redis(settings)
            opened.pop_all()
        return cls(
            name=name,
            settings=settings,
            store=store,
            db=db,
            bus=bus,
            redis=client,
            log=get_logger(name),
        )

    def close(self) -> None:
        self.bus.close()
        self.db.close()
        self.redis.close()


class Transaction:
    """One transaction of a function: its connection and the events that announce it."""

    def __init__(self, ctx: Context, conn: psycopg.Connection[TupleRow]) -> None:
        self.conn = conn
        self.events: list[CloudEvent] = []
        self._source = ctx.source

    def emit(
        self,
        event_type: str,
        data: EventData,
        *,
        traceparent: str | None = None,
        event_id: str | None = None,
        **extensions: str | None,
    ) -> CloudEvent:
        """Stage an event of this function (``subject``, ``pipeline``, ``modality``,
        ``bodypart`` may be given as for :func:`acme.events.new_event`)."""
        event = new_event(
            event_type, data, source=self._source, traceparent=traceparent, event_id=event_id,
            **extensions,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.announce(event)

    def announce(self, event: CloudEvent) -> CloudEvent:
        """Stage an event built elsewhere."""
        stage(self.conn, event)
        self.events.append(event)
        return event


Handler = Callable[[Context, Event], None]


class CloudEventFunction(Protocol):
    """What :func:`cloudevent_function` returns: a functions-framework HTTP target, plus
    :meth:`handle` to run the handler with a given context and event (tests)."""

    def __call__(self, request: flask.Request) -> flask.Response: ...

    def handle(self, ctx: Context, event: CloudEvent) -> None: ...


class _ProcessContext:
    """The settings, delivery verifier and :class:`Context` of this process, each built once
    on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._verifier: DeliveryVerifier | None = None
        self._context: Context | None = None

    def settings(self) -> Settings:
        with self._lock:
            return self._load_settings()

    def verifier(self) -> DeliveryVerifier:
        with self._lock:
            if self._verifier is None:
                self._verifier = DeliveryVerifier.from_settings(self._load_settings(), self.name)
            return self._verifier

    def get(self) -> Context:
        with self._lock:
            if self._context is None:
                self._context = Context.open(self.name, self._load_settings())
            return self._context

    def _load_settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            configure_logging(self._settings, service=self.name)
        return self._settings


def run_handler(
    handler: Handler, ctx: Context, cloudevent: CloudEvent, delivery: Delivery | None = None
) -> None:
    """Validate ``cloudevent``, run ``handler`` and map failures to HTTP answers."""
    bind_trace(traceparent_of(cloudevent))
    log = ctx.log.bind(event_id=str(cloudevent["id"]), event_type=str(cloudevent["type"]))
    try:
        event = Event.from_cloudevent(cloudevent, delivery)
    except EventError as exc:
        log.warning("event rejected: malformed", error=str(exc))
        flask.abort(400, description=str(exc))
    try:
        handler(ctx, event)
    except Rejected as exc:
        log.warning("event rejected", error=str(exc))
        flask.abort(400, description=str(exc))
    except Exception:
        log.exception("event failed; it will be retried")
        raise


def receive(handler: Handler, process: _ProcessContext, request: flask.Request) -> flask.Response:
    """One delivery: token, then CloudEvent, then the handler (see the module docstring)."""
    try:
        process.verifier().verify(request.headers.get("Authorization"))
    except Unauthenticated as exc:
        process.settings()  # logging configured before the first line
        _logger.warning("delivery refused: unauthenticated", function=process.name, error=str(exc))
        answer = _json(401, "unauthenticated", str(exc))
        answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return answer
    # The project's parser decodes percent-encoded ce-* headers (non-ASCII subjects) as the
    # HTTP binding requires, and names what is wrong with a malformed event.
    try:
        cloudevent = parse_http(dict(request.headers), request.get_data())
    except EventError as exc:
        return _json(400, "malformed-event", str(exc))
    delivery = Delivery.from_headers(dict(request.headers), process.settings())
    try:
        run_handler(handler, process.get(), cloudevent, delivery)
    except BadRequest as exc:
        return _json(400, "rejected", str(exc.description))
    return flask.Response(b"", status=200)  # kept alive: see the module docstring


def _json(status: int, code: str, detail: str) -> flask.Response:
    response = flask.jsonify({"error": code, "detail": detail})
    response.status_code = status
    return response


def cloudevent_function(name: str) -> Callable[[Handler], CloudEventFunction]:
    """Make ``handler`` the CloudEvent function ``name`` (see the module docstring).

    The target is registered with functions-framework as an HTTP function, so that the
    delivery token is checked before the framework reads the event.
    """

    def decorate(handler: Handler) -> CloudEventFunction:
        process = _ProcessContext(name)

        @functools.wraps(handler)
        def entry(request: flask.Request) -> flask.Response:
            return receive(handler, process, request)

        target: Any = functions_framework.http(entry)
        target.handle = functools.partial(run_handler, handler)
        typed: CloudEventFunction = target
        return typed

    return decorate
