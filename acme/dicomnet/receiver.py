"""The C-STORE receiver (SCP): associations from allowed peers, C-ECHO, C-STORE into the inbox.

Per association, in order:

1. **Connection**: the socket gets the network timeout, so a peer that stops sending in the
   middle of a PDU is cut off after ``ACME_DICOM_NETWORK_TIMEOUT`` seconds, as is one that
   goes silent between messages (pynetdicom's idle timer).
2. **Association request**: the calling AE title and the peer's address must match an entry
   of the allow list (:mod:`acme.dicomnet.peers`), else A-ASSOCIATE-RJ (permanent, "calling AE
   title not recognised"); the called AE title must be ours. Presentation contexts outside the
   accepted SOP classes and transfer syntaxes are rejected (:mod:`acme.dicomnet.contexts`).
3. **C-STORE**: the dataset is checked (:mod:`acme.dicomnet.checks`), then written into
   dicom-inbox under a key the receiver makes up (``dimse/<date>/<association>/<n>.dcm``:
   nothing the peer sent is in it), with the calling AE title as the file meta's Source
   Application Entity Title. Success is answered only once the put returned; a storage
   failure answers Out of Resources, so the peer keeps the instance and sends it again. The
   bucket notification and the inbox sweep then ingest it like any other dropped object.
4. **End** (release, abort, timeout, dropped connection): the association's record, with the
   series it delivered, goes to the :class:`~acme.dicomnet.journal.AssociationJournal`.

Logs name AE titles, addresses and UIDs, never patient attributes.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from acme.dicomnet.checks import OUT_OF_RESOURCES, SUCCESS, check_instance
from acme.dicomnet.contexts import sop_classes, supported_contexts, transfer_syntaxes
from acme.dicomnet.journal import (
    AssociationJournal,
    AssociationOutcome,
    AssociationRecord,
    SeriesDelivered,
)
from acme.dicomnet.peers import AllowedPeer, permitted
from acme.errors import ConfigError, DatabaseError, StorageError
from acme.log import get_logger
from acme.settings import Settings
from acme.storage import ObjectStore

__all__ = ["DicomReceiver", "ReceiverConfig", "inbox_key"]

_logger = get_logger(__name__)
_REJECT_PERMANENT = 0x01
_SOURCE_SERVICE_USER = 0x01
_CALLING_AE_NOT_RECOGNISED = 0x03


@dataclass(frozen=True)
class ReceiverConfig:
    """Everything the receiver is configured with (from the ``ACME_DICOM_*`` settings)."""

    ae_title: str
    host: str
    port: int
    peers: tuple[AllowedPeer, ...]
    sop_classes: tuple[str, ...]
    transfer_syntaxes: tuple[str, ...]
    acse_timeout: float
    dimse_timeout: float
    network_timeout: float
    max_associations: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ReceiverConfig:
        """The configuration ``settings`` describe; :class:`ConfigError` naming a bad one."""
        return cls(
            ae_title=settings.dicom_ae_title,
            host=settings.dicom_host,
            port=settings.dicom_port,
            peers=settings.allowed_peers,
            sop_classes=sop_classes(settings.dicom_sop_classes),
            transfer_syntaxes=transfer_syntaxes(settings.dicom_transfer_syntaxes),
            acse_timeout=settings.dicom_acse_timeout,
            dimse_timeout=settings.dicom_dimse_timeout,
            network_timeout=settings.dicom_network_timeout,
            max_associations=settings.dicom_max_associations,
        )


def inbox_key(association: uuid.UUID, started: datetime, sequence: int) -> str:
    """Where the ``sequence``-th instance of an association goes in dicom-inbox."""
    return f"dimse/{started:%Y/%m/%d}/{association}/{sequence:06d}.dcm"


@dataclass
class _Tally:
    """What one established association did so far."""

    id: uuid.UUID
    calling_ae: str
    called_ae: str
    address: str
    port: int
    started_at: datetime
    received: int = 0
    stored: int = 0
    failed: int = 0
    series: Counter[tuple[str, str]] = field(default_factory=Counter)

    def next_key(self) -> str:
        self.received += 1
        return inbox_key(self.id, self.started_at, self.received)

    def record(self, outcome: AssociationOutcome) -> AssociationRecord:
        return AssociationRecord(
            id=self.id, calling_ae=self.calling_ae, called_ae=self.called_ae,
            peer_address=self.address, peer_port=self.port, started_at=self.started_at,
            ended_at=datetime.now(UTC), outcome=outcome, stored=self.stored, failed=self.failed,
            series=tuple(SeriesDelivered(study, series, count)
                         for (study, series), count in sorted(self.series.items())),
        )  # fmt: skip


class DicomReceiver:
    """The SCP of one :class:`ReceiverConfig`, writing into ``bucket`` of ``store``."""

    def __init__(
        self,
        config: ReceiverConfig,
        *,
        store: ObjectStore,
        bucket: str,
        journal: AssociationJournal,
    ) -> None:
        self.config = config
        self._store = store
        self._bucket = bucket
        self._journal = journal
        self._lock = threading.Lock()
        self._tallies: dict[int, _Tally] = {}
        self._server: ThreadedAssociationServer | None = None
        self._ae = self._make_ae()

    @property
    def address(self) -> tuple[str, int]:
        """Host and port it listens on (the chosen one when the configured port is 0)."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> tuple[str, int]:
        """Listen (in background threads); returns host and port."""
        try:
            self._server = self._ae.start_server(
                (self.config.host, self.config.port),
                block=False,
                evt_handlers=self._handlers(),
            )
        except OSError as exc:
            raise ConfigError(
                "ACME_DICOM_PORT",
                f"port {self.config.port} on {self.config.host} is not available ({exc.strerror})",
            ) from None
        host, port = self.address
        _logger.info("dicom receiver listening", ae_title=self.config.ae_title, host=host,
                     port=port, allowed=[str(peer) for peer in self.config.peers])  # fmt: skip
        return host, port

    def stop(self) -> None:
        """Abort the open associations (their records are written) and stop listening."""
        self._ae.shutdown()
        self._server = None

    def _make_ae(self) -> AE:
        ae = AE(ae_title=self.config.ae_title)
        ae.supported_contexts = supported_contexts(
            self.config.sop_classes, self.config.transfer_syntaxes
        )
        ae.require_called_aet = True
        ae.acse_timeout = self.config.acse_timeout
        ae.dimse_timeout = self.config.dimse_timeout
        ae.network_timeout = self.config.network_timeout
        ae.maximum_associations = self.config.max_associations
        return ae

    def _handlers(self) -> list[Any]:
        return [
            (evt.EVT_CONN_OPEN, self._on_connection),
            (evt.EVT_REQUESTED, self._on_request),
            (evt.EVT_ESTABLISHED, self._on_established),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_RELEASED, self._on_end),
            (evt.EVT_ABORTED, self._on_end),
            (evt.EVT_CONN_CLOSE, self._on_end),
        ]

    def _on_connection(self, event: Event) -> None:
        # Accepted sockets block without a limit; a peer stalled inside a PDU would hold the
        # association's thread forever (pynetdicom's idle timer only runs between PDUs).
        socket = event.assoc.dul.socket
        if socket is not None and socket.socket is not None:
            socket.socket.settimeout(self.config.network_timeout)

    def _on_request(self, event: Event) -> None:
        requestor = event.assoc.requestor
        primitive = requestor.primitive
        calling = str(primitive.calling_ae_title if primitive is not None else "").strip()
        if not permitted(self.config.peers, calling, requestor.address):
            _logger.warning("association refused: calling AE not allowed", calling_ae=calling,
                            peer=requestor.address)  # fmt: skip
            event.assoc.acse.send_reject(
                _REJECT_PERMANENT, _SOURCE_SERVICE_USER, _CALLING_AE_NOT_RECOGNISED
            )
            event.assoc.kill()  # as pynetdicom does after its own rejections: once it is sent

    def _on_established(self, event: Event) -> None:
        assoc = event.assoc
        tally = _Tally(
            id=uuid.uuid4(),
            calling_ae=str(assoc.requestor.ae_title).strip(),
            called_ae=str(assoc.acceptor.ae_title).strip(),
            address=assoc.requestor.address,
            port=assoc.requestor.port,
            started_at=datetime.now(UTC),
        )
        with self._lock:
            self._tallies[id(assoc)] = tally
        _logger.info("association accepted", association=str(tally.id), calling_ae=tally.calling_ae,
                     peer=tally.address)  # fmt: skip

    def _on_echo(self, _event: Event) -> int:
        return SUCCESS

    def _on_store(self, event: Event) -> Dataset:
        with self._lock:
            tally = self._tallies.get(id(event.assoc))
        if tally is None:  # cannot happen after EVT_ESTABLISHED; refuse rather than guess
            return _status(OUT_OF_RESOURCES, "association not registered")
        request = cast(C_STORE, event.request)
        meta = event.file_meta
        meta.SourceApplicationEntityTitle = tally.calling_ae
        part10 = b"".join(
            (b"\x00" * 128, b"DICM", encode_file_meta(meta), event.encoded_dataset(False))
        )
        verdict = check_instance(
            part10,
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=str(request.AffectedSOPInstanceUID),
        )
        log = _logger.bind(association=str(tally.id), sop_uid=str(request.AffectedSOPInstanceUID))
        if verdict.keep:
            key = tally.next_key()
            try:
                self._store.put(self._bucket, key, part10, content_type="application/dicom",
                                metadata={"association": str(tally.id)})  # fmt: skip
            except StorageError as exc:
                tally.failed += 1
                log.warning("instance not stored: object storage failed", error=str(exc))
                return _status(OUT_OF_RESOURCES, "object storage unavailable; send again")
        if verdict.status != SUCCESS:
            tally.failed += 1
            log.warning("instance refused", status=f"0x{verdict.status:04X}",
                        reason=verdict.comment, kept_for_quarantine=verdict.keep)  # fmt: skip
            return _status(verdict.status, verdict.comment_lo)
        tally.stored += 1
        if verdict.study_uid and verdict.series_uid:
            tally.series[(verdict.study_uid, verdict.series_uid)] += 1
        log.debug("instance stored")
        return _status(SUCCESS)

    def _on_end(self, event: Event) -> None:
        assoc = event.assoc
        with self._lock:
            tally = self._tallies.pop(id(assoc), None)
        if tally is None:
            return
        outcome: AssociationOutcome = "released" if assoc.is_released else "aborted"
        if outcome == "aborted" and assoc.dul.idle_timer_expired():
            outcome = "timed-out"
        record = tally.record(outcome)
        try:
            self._journal.record(record)
        except DatabaseError as exc:
            # The instances are in the inbox already; only this hint is lost.
            _logger.warning("association record not written", association=str(tally.id),
                            error=str(exc))  # fmt: skip
        _logger.info("association ended", association=str(tally.id), outcome=outcome,
                     stored=tally.stored, failed=tally.failed,
                     series=[s.series_uid for s in record.series])  # fmt: skip


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment
    return status
