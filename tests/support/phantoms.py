"""CT series of generated chest phantoms, as the datasets a scanner would send."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from acme.samples._common import Patient, StudyIdentity, UidFactory
from acme.samples.ct import ct_slice_dataset, stored_values
from acme.samples.ct_model import ChestPhantom


def phantom_series(phantom: ChestPhantom, *, name: str = "vol", seed: int = 3) -> list[Dataset]:
    """One dataset per slice of ``phantom``, in order, with UIDs and noise fixed by ``seed``."""
    uids = UidFactory(seed + 4)
    patient = Patient(f"{name.upper()}^TEST", f"{name.upper()}-1", "19700101", "O")
    identity = StudyIdentity.make(uids, name, patient, 1, "CT")
    rng = np.random.default_rng(seed)
    return [
        ct_slice_dataset(
            identity, sop_uid=uids.uid(name, str(k)), frame_of_reference=uids.uid(name, "for"),
            phantom=phantom, index=k, values=stored_values(phantom.hu(k, rng)),
        )
        for k in range(phantom.slices)
    ]  # fmt: skip
