"""The NATS JetStream adapter of :class:`~acme.bus.Bus`, and the stream it publishes into."""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
import structlog
from cloudevents.http import CloudEvent
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo

from acme.bus._loop import BackgroundLoop
from acme.bus._wire import subject_for, to_nats_message
from acme.errors import BusError, ConfigError
from acme.settings import Settings

SETTING: Final = "ACME_NATS_URL"
DUPLICATE_WINDOW: Final = 120.0
"""Seconds during which JetStream drops a message whose ``Nats-Msg-Id`` it has seen."""
MAX_AGE: Final = 7 * 24 * 3600.0
"""Seconds an event stays in the stream (limits retention)."""

_STREAM_NAME_IN_USE: Final = 10058
_SUBJECTS_OVERLAP: Final = 10065

_log = structlog.get_logger(__name__)


def stream_config(settings: Settings) -> StreamConfig:
    """The stream every event is stored in: ``<subject_prefix>.>``, file storage, limits."""
    return StreamConfig(
        name=settings.stream,
        description="Acme Imaging Functions: every CloudEvent (acme.bus)",
        subjects=[f"{settings.subject_prefix}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE,
        duplicate_window=DUPLICATE_WINDOW,
    )


async def ensure_stream(js: JetStreamContext, settings: Settings) -> StreamInfo:
    """Create the stream unless it exists; an existing stream must hold our subjects.

    Safe when several processes start together. An existing stream's limits are left as the
    operator set them.
    """
    config = stream_config(settings)
    wanted = f"{settings.subject_prefix}.>"
    try:
        info = await js.stream_info(settings.stream)
    except nats.js.errors.NotFoundError:
        try:
            return await js.add_stream(config)
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code == _SUBJECTS_OVERLAP:
                raise BusError(
                    f"cannot create stream {settings.stream}: another stream already holds "
                    f"subjects overlapping {wanted!r} (ACME_STREAM / ACME_SUBJECT_PREFIX)"
                ) from exc
            if exc.err_code != _STREAM_NAME_IN_USE:
                raise
            info = await js.stream_info(settings.stream)
    subjects = list(info.config.subjects or [])
    if wanted not in subjects and ">" not in subjects:
        raise BusError(
            f"stream {settings.stream} exists with subjects {subjects}, not {wanted!r} "
            "(ACME_STREAM / ACME_SUBJECT_PREFIX)"
        )
    return info


class NatsBus:
    """Publishes into JetStream on ``settings.subject_for(type)`` and waits for the PubAck.

    Connecting creates the stream if needed (:func:`ensure_stream`). The connection lives on
    a private event-loop thread, so :meth:`publish` is a plain blocking call that is safe
    from several threads. After start-up the client reconnects forever; a publish that gets
    no acknowledgement within ``publish_timeout`` raises :class:`BusError`.
    """

    def __init__(
        self, settings: Settings, *, name: str = "acme", publish_timeout: float = 10.0
    ) -> None:
        self._settings = settings
        self._timeout = publish_timeout
        self._loop = BackgroundLoop(name=f"{name}-nats")
        try:
            self._nc, self._js = self._loop.run(
                _connect(settings, name), timeout=settings.startup_timeout + 10
            )
        except BaseException:
            self._loop.stop()
            raise

    def publish(self, event: CloudEvent) -> None:
        event_type = str(event["type"])
        subject = subject_for(self._settings, event_type)
        headers, body = to_nats_message(event)
        what = f"{event_type} {event['id']} to {subject}"
        try:
            ack = self._loop.run(
                self._js.publish(
                    subject,
                    body,
                    timeout=self._timeout,
                    stream=self._settings.stream,
                    headers=headers,
                ),
                timeout=self._timeout + 5,
            )
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(f"publishing {what} failed: {type(exc).__name__}: {exc}") from exc
        if ack.duplicate:
            _log.info("event already in the stream", event_id=str(event["id"]), subject=subject)

    def close(self) -> None:
        try:
            if not self._nc.is_closed:
                self._loop.run(self._nc.drain(), timeout=self._timeout)
        except (nats.errors.Error, TimeoutError) as exc:
            _log.warning("NATS connection did not drain", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._loop.stop()

    def __enter__(self) -> NatsBus:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def connect(settings: Settings, name: str) -> Client:
    """The one way the platform connects to NATS: a client named ``name`` that reconnects
    forever once connected.

    :class:`ConfigError` naming ``ACME_NATS_URL`` when no URL is set, the server refuses the
    login, or it cannot be reached within ``ACME_STARTUP_TIMEOUT``.
    """
    if not settings.nats_url:
        raise ConfigError(SETTING, "no NATS URL is set (expected nats://host:port)")
    url = settings.nats_url
    where = _redacted(url)
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        _log.warning("NATS connection error", client=name, server=where,
                     error=f"{type(exc).__name__}: {exc}")  # fmt: skip

    async def on_disconnect() -> None:
        if not client.is_closed:  # closing on purpose is not worth a warning
            _log.warning("NATS disconnected", client=name, server=where)

    async def on_reconnect() -> None:
        _log.info("NATS reconnected", client=name, server=where)

    client = Client()
    try:
        await asyncio.wait_for(
            client.connect(
                servers=[url],
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                reconnect_time_wait=1,
                max_reconnect_attempts=-1,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            ),
            timeout=settings.startup_timeout,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        await client.close()
        last = errors[-1] if errors else exc
        if isinstance(last, nats.errors.AuthorizationError):
            raise ConfigError(SETTING, f"NATS at {where} refused the login: {last}") from None
        raise ConfigError(
            SETTING,
            f"cannot reach NATS at {where} within {settings.startup_timeout:g}s "
            f"({type(last).__name__}: {last})",
        ) from None
    return client


async def _connect(settings: Settings, name: str) -> tuple[Client, JetStreamContext]:
    client = await connect(settings, name)
    js = client.jetstream()
    try:
        await ensure_stream(js, settings)
    except nats.errors.Error as exc:
        await client.close()
        raise BusError(f"cannot set up JetStream stream {settings.stream}: {exc}") from exc
    except BaseException:
        await client.close()
        raise
    return client, js


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.hostname else url
