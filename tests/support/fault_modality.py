"""A modality for fault rounds: sends a round's files to the platform's DICOM receiver by
C-STORE, as a modality's send queue does.

Every file is offered once in an association; an instance the receiver did not answer with
Success (a failure status, or no answer because the association was lost) stays queued and
is sent again in a new association, until every one has been answered Success. A receiver
that dies after storing an instance and before answering gets that instance again: ingest
must take the second copy as a duplicate of the first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ComputedRadiographyImageStorage,
    CTImageStorage,
)

from acme.stack.state import StackState

if TYPE_CHECKING:
    from fault_rounds import Round

CALLING_AE = "MODALITY"
SUCCESS = 0x0000


class ModalitySender:
    """A modality of the receiver ``state`` names: :meth:`send` sends a round;
    ``confirmed`` counts the instances answered Success, ``associations`` those opened."""

    def __init__(self, state: StackState, limit: float = 240) -> None:
        assert state.receiver is not None, "acme up runs no DICOM receiver"
        self._address = (state.receiver.host, state.receiver.port, state.receiver.ae_title)
        self._limit = limit
        self.confirmed = 0
        self.associations = 0

    def send(self, rnd: Round) -> None:
        """Send every file of ``rnd`` until each is answered Success."""
        pending = [path for path, _key in rnd.files]
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
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} instances never stored"
            assoc = ae.associate(host, port, ae_title=called)
            if not assoc.is_established:  # the receiver is down: try again shortly
                time.sleep(0.5)
                continue
            self.associations += 1
            unanswered = []
            for path in pending:
                status = self._store(assoc, path)
                if status is not None and status.get("Status") == SUCCESS:
                    self.confirmed += 1
                else:
                    unanswered.append(path)
            if assoc.is_established:
                assoc.release()
            pending = unanswered

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
