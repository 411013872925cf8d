"""The dead-letter queue: a JetStream stream of events the router could not deliver.

docs/decisions/0021-dead-letter-stream.md. Each dead letter is one message on
``<subject_prefix>-dlq.<trigger>`` in the stream ``settings.dead_letter_stream``; its body is
a :class:`DeadLetter` JSON document holding the original NATS message (subject, headers,
body) verbatim, the function and trigger, why it failed, the last answer and the timestamps.
The stream sequence is the entry's id (``acme dlq list`` / ``acme dlq replay ID``).

Replaying republishes the original event on ``<subject_prefix>._replay.<trigger>``, a subject
only that trigger's consumer listens to (besides catch-all triggers, which skip it), so the
other functions do not see the event again; when the trigger's consumer no longer exists the
event goes back to its original subject, to every trigger. The entry is removed once the
republished event is in the stream.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Final, Literal

import nats
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, RetentionPolicy, StorageType, StreamConfig
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from acme.bus import MSG_ID_HEADER
from acme.errors import BusError
from acme.log import get_logger
from acme.settings import Settings

__all__ = [
    "REPLAY_TOKEN",
    "DeadLetter",
    "DeadLetterEntry",
    "DeadLetterKind",
    "DeadLetterQueue",
    "StoredMessage",
    "dlq_stream_config",
    "dlq_subject_root",
    "replay_subject",
]

REPLAY_TOKEN: Final = "_replay"
"""Subject token under ``<subject_prefix>`` for events replayed to one trigger."""
DUPLICATE_WINDOW: Final = 120.0

DeadLetterKind = Literal["exhausted", "rejected", "malformed"]
"""Why an event was dead-lettered: retries used up, a 4xx answer, or not a CloudEvent."""

_logger = get_logger(__name__)


def dlq_subject_root(settings: Settings) -> str:
    """``<subject_prefix>-dlq``: outside the events stream's ``<subject_prefix>.>``."""
    return f"{settings.subject_prefix}-dlq"


def replay_subject(settings: Settings, trigger: str) -> str:
    """The subject that reaches only the consumer of ``trigger``."""
    return f"{settings.subject_prefix}.{REPLAY_TOKEN}.{trigger}"


def dlq_stream_config(settings: Settings) -> StreamConfig:
    """File storage, kept until replayed or removed (no age or count limit)."""
    return StreamConfig(
        name=settings.dead_letter_stream,
        description="Acme Imaging Functions: events the router could not deliver",
        subjects=[f"{dlq_subject_root(settings)}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW,
    )


class StoredMessage(BaseModel):
    """A NATS message kept verbatim: subject, headers and body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    headers: dict[str, str]
    body: str
    body_encoding: Literal["utf-8", "base64"] = "utf-8"

    @classmethod
    def of(cls, subject: str, headers: dict[str, str] | None, body: bytes) -> StoredMessage:
        try:
            return cls(subject=subject, headers=dict(headers or {}), body=body.decode("utf-8"))
        except UnicodeDecodeError:
            return cls(
                subject=subject,
                headers=dict(headers or {}),
                body=base64.b64encode(body).decode("ascii"),
                body_encoding="base64",
            )

    def body_bytes(self) -> bytes:
        if self.body_encoding == "utf-8":
            return self.body.encode("utf-8")
        try:
            return base64.b64decode(self.body, validate=True)
        except binascii.Error as exc:
            raise BusError(f"body: stored as base64 but is not base64 ({exc})") from None


class DeadLetter(BaseModel):
    """One event the router gave up on, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: StoredMessage = Field(description="The original message, verbatim.")
    event_id: str | None = Field(description="ce-id; None when the message was malformed.")
    event_type: str | None
    event_subject: str | None
    function: str
    trigger: str = Field(description="The trigger's durable consumer name.")
    kind: DeadLetterKind
    reason: str = Field(description="e.g. 'http 500 after 5 attempts', 'rejected: http 404'.")
    attempts: int = Field(ge=0)
    last_status: int | None = None
    last_body: str = Field("", description="The start of the function's last answer.")
    stream: str
    stream_sequence: int = Field(ge=1, description="Sequence of the event in its stream.")
    published_at: AwareDatetime = Field(description="When the event entered the stream.")
    dead_lettered_at: AwareDatetime

    def msg_id(self) -> str:
        """Deduplicates a second write of the same failure (router restart before the term)."""
        return f"dlq.{self.stream}.{self.stream_sequence}.{self.trigger}"


class DeadLetterEntry(BaseModel):
    """A dead letter as stored: its id (the DLQ stream sequence) and when it was stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    stored_at: AwareDatetime
    letter: DeadLetter


class DeadLetterQueue:
    """Write, read, remove and replay dead letters on an open JetStream context."""

    def __init__(self, js: JetStreamContext, settings: Settings) -> None:
        self._js = js
        self._settings = settings
        self.stream = settings.dead_letter_stream

    async def ensure(self) -> None:
        """Create the stream unless it exists."""
        try:
            await self._js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(dlq_stream_config(self._settings))

    async def put(self, letter: DeadLetter) -> None:
        """Store ``letter``; :class:`BusError` when JetStream does not acknowledge it."""
        subject = f"{dlq_subject_root(self._settings)}.{letter.trigger}"
        try:
            await self._js.publish(
                subject,
                letter.model_dump_json().encode(),
                stream=self.stream,
                headers={MSG_ID_HEADER: letter.msg_id()},
            )
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(f"dead-lettering event {letter.event_id}: {exc!r}") from exc

    async def entries(self) -> list[DeadLetterEntry]:
        """Every dead letter, oldest first."""
        found: list[DeadLetterEntry] = []
        sequence = 1
        wildcard = f"{dlq_subject_root(self._settings)}.>"
        while True:
            try:
                raw = await self._js.get_msg(self.stream, sequence, subject=wildcard, next=True)
            except nats.js.errors.NotFoundError:
                return found
            sequence = (raw.seq or sequence) + 1
            try:
                found.append(_entry(raw))
            except BusError as exc:
                _logger.warning("unreadable dead letter", entry=raw.seq, error=str(exc))

    async def get(self, entry_id: int) -> DeadLetterEntry:
        try:
            return _entry(await self._js.get_msg(self.stream, entry_id))
        except nats.js.errors.NotFoundError:
            raise BusError(f"no dead letter {entry_id} in stream {self.stream}") from None

    async def remove(self, entry_id: int) -> None:
        await self._js.delete_msg(self.stream, entry_id)

    async def replay(self, entry: DeadLetterEntry) -> str:
        """Republish the entry's event, then remove the entry; returns where it went."""
        letter = entry.letter
        headers = {
            k: v for k, v in letter.message.headers.items() if not k.lower().startswith("nats-")
        }
        headers[MSG_ID_HEADER] = f"{letter.event_id or 'malformed'}.replay.{entry.id}"
        if await self._trigger_exists(letter.trigger):
            subject, target = replay_subject(self._settings, letter.trigger), letter.trigger
        else:
            subject, target = letter.message.subject, "bus"
        try:
            await self._js.publish(
                subject,
                letter.message.body_bytes(),
                stream=self._settings.stream,
                headers=headers,
            )
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(f"replaying dead letter {entry.id}: {exc!r}") from exc
        await self.remove(entry.id)
        _logger.info(
            "dead letter replayed", entry=entry.id, event_id=letter.event_id, target=target
        )
        return target

    async def _trigger_exists(self, trigger: str) -> bool:
        try:
            await self._js.consumer_info(self._settings.stream, trigger)
        except nats.js.errors.NotFoundError:
            return False
        return True


def _entry(raw: RawStreamMsg) -> DeadLetterEntry:
    stored = raw.time if isinstance(raw.time, datetime) else None
    if raw.seq is None:
        raise BusError("the dead-letter stream returned a message without a sequence")
    try:
        letter = DeadLetter.model_validate_json(raw.data or b"{}")
    except ValidationError as exc:
        raise BusError(
            f"dead letter {raw.seq}: not a dead-letter document ({exc.error_count()} errors)"
        ) from None
    return DeadLetterEntry(id=raw.seq, stored_at=stored or datetime.now(UTC), letter=letter)
