"""A modality for fault rounds: sends a round's files to the platform's DICOM receiver by
C-STORE, as a modality's send queue does.

Every file is offered once in an association; an instance the receiver did not answer with
Success (a failure status, or no answer because the association was lost) stays queued and
is sent again in a new association, until every one has been answered Success. A receiver
that dies after storing an instance and before answering gets that instance again: ingest
must take the second copy as a duplicate of the first.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ComputedRadiographyImageStorage,
    CTImageStorage,
)

from acme.stack.state import StackState

CALLING_AE = "MODALITY"
SUCCESS = 0x0000


class ModalitySender:
    """Sends ``files`` to the receiver ``state`` names, on its own thread, started by ``with``;
    ``confirmed`` counts the instances answered Success, ``associations`` those opened."""

    def __init__(self, state: StackState, files: list[Path], limit: float = 240) -> None:
        assert state.receiver is not None, "acme up runs no DICOM receiver"
        self._address = (state.receiver.host, state.receiver.port, state.receiver.ae_title)
        self._pending = list(files)
        self._limit = limit
        self.confirmed = 0
        self.associations = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._send_until_confirmed()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread by __exit__
            self._error = exc

    def _send_until_confirmed(self) -> None:
        ae = AE(ae_title=CALLING_AE)
        for sop_class in (CTImageStorage, ComputedRadiographyImageStorage):
            ae.add_requested_context(sop_class)
        # pynetdicom notices a lost association only when a response is overdue: a C-STORE
        # in flight when the receiver dies waits out the DIMSE timeout. Modalities wait
        # ~30 s; a CT series not sent to for longer than its stable age (15 s here) would
        # complete early, and again with the slices sent after.
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 5
        host, port, called = self._address
        deadline = time.monotonic() + self._limit
        while self._pending:
            assert time.monotonic() < deadline, f"{len(self._pending)} instances never stored"
            assoc = ae.associate(host, port, ae_title=called)
            if not assoc.is_established:  # the receiver is down: try again shortly
                time.sleep(0.5)
                continue
            self.associations += 1
            unanswered = []
            for path in self._pending:
                status = self._store(assoc, path)
                if status is not None and status.get("Status") == SUCCESS:
                    self.confirmed += 1
                else:
                    unanswered.append(path)
            if assoc.is_established:
                assoc.release()
            self._pending = unanswered

    @staticmethod
    def _store(assoc: Association, path: Path) -> Dataset | None:
        """The C-STORE response's status, None when the association is lost (before or
        while the request is sent)."""
        if not assoc.is_established:
            return None
        try:
            return assoc.send_c_store(dcmread(path))
        except RuntimeError:  # pynetdicom: the association ended between check and send
            return None

    def __enter__(self) -> ModalitySender:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join(300)
        assert not self._thread.is_alive(), "the modality never finished"
        if self._error is not None:
            raise self._error
