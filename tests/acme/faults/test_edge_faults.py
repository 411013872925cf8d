"""The DICOM edge killed mid-association: what a modality was told is stored is never lost.

A modality sends a round's 300 instances (:mod:`fault_rounds`) by C-STORE to the platform's
receiver, which is killed (SIGKILL) while they arrive; acme up starts it again on its port,
and the modality sends again what it had no Success for (:mod:`fault_modality`). An
instance the receiver had put in the inbox without answering arrives twice and is archived
once. Every study must still reach ``reported``, and each instance be indexed and announced
once.
"""

from __future__ import annotations

import time
from pathlib import Path

from fault_modality import ModalitySender
from fault_platform import FaultPlatform
from fault_rounds import Round, run_round

from acme.db import Pool

FIRST_FEW = 30


def test_dicom_receiver_killed_while_a_modality_sends(
    platform: FaultPlatform, tmp_path: Path
) -> None:
    modality = ModalitySender(platform.state)

    def fault(_rnd: Round, _pool: Pool) -> None:
        pid = platform.process_pid("dicom-receiver")
        assert pid is not None, "the receiver is not running"
        deadline = time.monotonic() + 120
        while modality.confirmed < FIRST_FEW:
            # a small slice is stored in milliseconds: look often, or the round is over
            assert time.monotonic() < deadline, "the modality stored nothing"
            time.sleep(0.005)
        platform.kill(pid)
        print(f"\nkilled dicom-receiver (pid {pid}) after {modality.confirmed} stored")

    rnd = run_round(platform, tmp_path, "kill-receiver", fault, by_dimse=modality.send)
    assert modality.confirmed == len(rnd.files), "every instance answered Success once"
    assert modality.associations >= 2, "the kill ended the first association"
    assert platform.process_pid("dicom-receiver") is not None, "the receiver is back"
