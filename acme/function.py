"""What every function gets: a :class:`Context` of clients and the decorator ``main.py`` uses.

A function's ``main.py`` is one short handler::

    @cloudevent_function("dicom-ingest")
    def handler(ctx: Context, event: Event) -> None:
        ...

The decorator turns it into a functions-framework CloudEvent function. It reads the settings
once per process, builds the clients (object store, PostgreSQL pool with migrations applied,
bus, Redis) on the first event, binds the event's trace to every log line, validates the data
against the type's model, and maps errors onto HTTP answers the router understands: a
malformed event or a :class:`Rejected` outcome is a 400 (never retried), anything else a 500
(retried with backoff, then dead-lettered).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import flask
import functions_framework
import redis
import structlog
from cloudevents.http import CloudEvent

from acme.bus import Bus, make_bus
from acme.cache import make_redis
from acme.db import Pool, apply_migrations, make_pool
from acme.errors import AcmeError, EventError
from acme.events import event_data, new_event, parse_http, traceparent_of
from acme.events.models import EventData
from acme.log import bind_trace, configure_logging, get_logger
from acme.settings import Settings, load_settings
from acme.storage import ObjectStore, S3ObjectStore, make_s3_client

T = TypeVar("T")


class Rejected(AcmeError):
    """The event can never succeed (e.g. it names something that cannot exist): answer 400."""


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

    @classmethod
    def from_cloudevent(cls, event: CloudEvent) -> Event:
        subject = event.get("subject")
        return cls(
            id=str(event["id"]),
            type=str(event["type"]),
            source=str(event["source"]),
            subject=str(subject) if subject is not None else None,
            traceparent=traceparent_of(event),
            data=event_data(event),
            raw=event,
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
        """Publish a follow-up event from this function (waits until the bus accepted it)."""
        self.bus.publish(
            new_event(
                event_type, data, source=self.source, traceparent=traceparent, event_id=event_id
            )
        )

    @classmethod
    def open(cls, name: str, settings: Settings) -> Context:
        """Connect to every server; applies pending database migrations (idempotent)."""
        db = make_pool(settings, application_name=name)
        apply_migrations(db)
        return cls(
            name=name,
            settings=settings,
            store=S3ObjectStore(make_s3_client(settings)),
            db=db,
            bus=make_bus(settings, name=name),
            redis=make_redis(settings),
            log=get_logger(name),
        )

    def close(self) -> None:
        self.bus.close()
        self.db.close()
        self.redis.close()


Handler = Callable[[Context, Event], None]


class CloudEventFunction(Protocol):
    """What :func:`cloudevent_function` returns: a functions-framework target, plus
    :meth:`handle` to run the handler with a given context (tests, the runtime)."""

    def __call__(self, event: CloudEvent) -> None: ...

    def handle(self, ctx: Context, event: CloudEvent) -> None: ...


class _ProcessContext:
    """The one :class:`Context` of this process, built on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._context: Context | None = None

    def get(self) -> Context:
        with self._lock:
            if self._context is None:
                settings = load_settings()
                configure_logging(settings, service=self._name)
                self._context = Context.open(self._name, settings)
            return self._context


def run_handler(handler: Handler, ctx: Context, cloudevent: CloudEvent) -> None:
    """Validate ``cloudevent``, run ``handler`` and map failures to HTTP answers."""
    bind_trace(traceparent_of(cloudevent))
    log = ctx.log.bind(event_id=str(cloudevent["id"]), event_type=str(cloudevent["type"]))
    try:
        event = Event.from_cloudevent(cloudevent)
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


def cloudevent_function(name: str) -> Callable[[Handler], CloudEventFunction]:
    """Make ``handler`` the CloudEvent function ``name`` (see the module docstring)."""

    def decorate(handler: Handler) -> CloudEventFunction:
        process = _ProcessContext(name)

        @functools.wraps(handler)
        def entry(_parsed_by_framework: CloudEvent) -> None:
            # Parse the request again with the project's parser: it decodes percent-encoded
            # ce-* headers (non-ASCII subjects) as the HTTP binding requires, which the SDK
            # used by functions-framework does not.
            request = flask.request
            try:
                cloudevent = parse_http(dict(request.headers), request.get_data())
            except EventError as exc:
                flask.abort(400, description=str(exc))
            run_handler(handler, process.get(), cloudevent)

        target: Any = functions_framework.cloud_event(entry)
        target.handle = functools.partial(run_handler, handler)
        typed: CloudEventFunction = target
        return typed

    return decorate
