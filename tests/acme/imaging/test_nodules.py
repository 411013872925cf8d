"""Lung field and nodule candidates (acme.imaging._nodules) on generated chest phantoms."""

from __future__ import annotations

import numpy as np
import pytest
from phantoms import phantom_series
from scipy import ndimage

from acme.imaging import assemble_volume, find_candidates, lung_field
from acme.imaging._nodules import _off_border
from acme.samples.ct_model import ChestPhantom, Nodule


@pytest.mark.parametrize("seed", range(6))
def test_holes_filled_by_labelling_are_scipys_binary_fill_holes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inside = ndimage.binary_opening(rng.random((96, 80)) < 0.55)  # blobs with holes, on edges
    filled = inside | _off_border(~inside)
    assert np.array_equal(filled, ndimage.binary_fill_holes(inside))
    assert not np.array_equal(filled, inside)  # there were holes to fill


def test_a_nodule_is_found_where_it_is_in_the_whole_volume_with_its_size() -> None:
    grid = ChestPhantom(slices=40, matrix=128, pixel_mm=2.5, slice_mm=2.5)
    centre = grid.snap((70.0, 15.0, 20.0))  # off-centre: far from the box's corner
    phantom = ChestPhantom(slices=40, matrix=128, pixel_mm=2.5, slice_mm=2.5,
                           nodules=(Nodule(centre, 12.0),))  # fmt: skip
    volume = assemble_volume(phantom_series(phantom, name="nod", seed=4), min_slices=16)
    [found] = [c for c in find_candidates(volume) if c.diameter_mm > 8.0]
    assert np.linalg.norm(np.asarray(found.centre_mm) - np.asarray(centre)) < 1.5
    assert abs(found.diameter_mm - 12.0) < 2.0
    k = round(found.centre_index[0])
    assert found.slices[0] <= k <= found.slices[1]
    assert lung_field(volume)[k].any()  # the candidate lies in the lungs of its slice
    assert np.allclose(volume.to_patient(found.centre_index), found.centre_mm)
