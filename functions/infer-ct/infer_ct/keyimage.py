"""A nodule's key image: its centre slice in a lung window with the nodule ringed in red."""

from __future__ import annotations

import numpy as np

from acme.imaging import Candidate, Volume, encode_png, window_hu

LUNG_WINDOW = (-1350.0, 150.0)
"""HU shown black and white: the lung window (level -600, width 1500)."""
RING_PX = 2


def nodule_png(volume: Volume, candidate: Candidate) -> bytes:
    """The PNG of the axial slice through ``candidate``'s centre, the nodule ringed."""
    k, i, j = candidate.centre_index
    first, last = candidate.slices
    gray = window_hu(volume.hu[min(last, max(first, round(k)))], *LUNG_WINDOW)
    rgb = np.repeat((gray * 255.0).astype(np.uint8)[:, :, None], 3, axis=2)
    _, dy, dx = volume.spacing
    radius = candidate.diameter_mm / 2 / min(dy, dx) + 4
    rows, columns = np.ogrid[: gray.shape[0], : gray.shape[1]]
    distance = np.sqrt((rows - i) ** 2 + (columns - j) ** 2)
    ring = np.abs(distance - radius) <= RING_PX / 2 + 0.5
    rgb[ring] = (230, 40, 40)
    return encode_png(rgb)
