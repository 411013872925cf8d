"""A CT series becomes one volume, in any order, or fails with the reason it cannot be trusted."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from phantoms import phantom_series
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from acme.imaging import UntrustedSeriesError, assemble_volume
from acme.samples.ct_model import ChestPhantom, Nodule
from acme.samples.real import testdata_path as pydicom_data

PHANTOM = ChestPhantom(slices=12, matrix=48, pixel_mm=8.0, slice_mm=3.0,
                       nodules=(Nodule((-80.0, -8.0, 0.0), 20.0),))  # fmt: skip


def _series(phantom: ChestPhantom = PHANTOM) -> list[Dataset]:
    return phantom_series(phantom)


def _fails(datasets: list[Dataset], reason: str, match: str, **kwargs: int) -> None:
    with pytest.raises(UntrustedSeriesError, match=match) as raised:
        assemble_volume(datasets, **kwargs)
    assert raised.value.reason_code == reason


def test_the_same_series_sent_shuffled_gives_an_identical_volume() -> None:
    series = _series()
    in_order = assemble_volume(series)
    shuffled = series[:]
    random.Random(5).shuffle(shuffled)
    for ds in shuffled:  # Instance Number says nothing trustworthy about the order
        ds.InstanceNumber = 1
    again = assemble_volume(shuffled)
    assert shuffled != series
    assert np.array_equal(again.hu, in_order.hu)
    assert again.sop_uids == in_order.sop_uids == tuple(ds.SOPInstanceUID for ds in series)
    assert np.array_equal(again.origin, in_order.origin)
    assert again.spacing == in_order.spacing == (3.0, 8.0, 8.0)


def test_the_volume_keeps_hu_spacing_and_orientation() -> None:
    series = _series()
    volume = assemble_volume(series)
    assert volume.shape == (12, 48, 48)
    stored = series[5].pixel_array.astype(np.float32)
    assert np.array_equal(volume.hu[5], stored - 1024.0)  # RescaleIntercept -1024
    assert list(volume.origin) == [PHANTOM.origin_mm, PHANTOM.origin_mm, PHANTOM.first_z]
    assert list(volume.normal) == [0.0, 0.0, 1.0]
    x, y, z = volume.to_patient((4, 10, 20))
    assert (x, y, z) == (PHANTOM.origin_mm + 20 * 8.0, PHANTOM.origin_mm + 10 * 8.0,
                         PHANTOM.z(4))  # fmt: skip
    assert volume.hu[0, 0, 0] < -900  # air outside the body


def test_slices_stacked_feet_first_or_head_first_give_the_same_order() -> None:
    series = _series()
    flipped = [copy.deepcopy(ds) for ds in reversed(series)]
    assert assemble_volume(flipped).sop_uids == assemble_volume(series).sop_uids


def test_a_missing_slice_fails_with_its_reason() -> None:
    series = _series()
    del series[6]
    _fails(series, "missing-slices", r"6\.00 mm between slices 6 and 7 .* about 1 slice")


def test_a_duplicate_slice_fails_with_its_reason() -> None:
    series = _series()
    twin = copy.deepcopy(series[4])
    twin.SOPInstanceUID = generate_uid()
    _fails([*series, twin], "duplicate-slices", "lie at the same position")


def test_mixed_sizes_fail_with_their_reason() -> None:
    series = _series()
    series[3].Rows = series[3].Columns = 24
    series[3].PixelData = bytes(24 * 24 * 2)
    _fails(series, "mixed-sizes", "is 24 x 24 at")
    spacing = _series()
    spacing[2].PixelSpacing = [7.5, 7.5]
    _fails(spacing, "mixed-sizes", r"\(7\.5, 7\.5\) mm")


def test_gantry_tilt_fails_with_its_reason() -> None:
    series = _series()
    for ds in series:
        ds.GantryDetectorTilt = 15
    _fails(series, "gantry-tilt", "GantryDetectorTilt 15 degrees")
    sheared = _series()  # the tilt unstated, but the slices step sideways as they go
    for k, ds in enumerate(sheared):
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + k * 3.0 * np.tan(np.radians(15)), z]
    _fails(sheared, "gantry-tilt", "stacked 15.0 degrees off the normal")


def test_mixed_orientation_and_pixel_format_fail_with_their_reasons() -> None:
    series = _series()
    series[1].ImageOrientationPatient = [1, 0, 0, 0, 0.9950042, -0.0998334]
    _fails(series, "mixed-orientation", "ImageOrientationPatient")
    formats = _series()
    formats[7].BitsStored = 16
    _fails(formats, "mixed-pixel-format", "BitsAllocated, BitsStored")


def test_missing_geometry_and_too_few_slices_fail_with_their_reasons() -> None:
    series = _series()
    del series[2].ImagePositionPatient
    _fails(series, "missing-geometry", "ImagePositionPatient is None")
    _fails(_series()[:4], "too-few-slices", "has 4 slice", min_slices=5)
    _fails([], "too-few-slices", "no instance")


def test_uneven_spacing_fails_with_its_reason() -> None:
    series = _series()
    for k, ds in enumerate(series):
        x, y, _ = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, PHANTOM.first_z + 3.0 * k + (0.6 if k == 6 else 0.0)]
    _fails(series, "uneven-spacing", "varies from 2.40 to 3.60 mm")


def test_pixel_padding_becomes_air() -> None:
    series = _series()
    for ds in series:
        values = ds.pixel_array.copy()
        values[:4, :4] = 0
        ds.PixelData = values.tobytes()
        ds.PixelPaddingValue = 0
    volume = assemble_volume(series)
    assert np.all(volume.hu[:, :4, :4] == -1000.0)


def test_the_real_head_ct_slice_gets_a_clear_outcome() -> None:
    head = dcmread(pydicom_data("693_UNCR.dcm"))
    _fails([head], "too-few-slices", "has 1 slice.* at least 16", min_slices=16)
    volume = assemble_volume([head], min_slices=1)  # as one slice it assembles, in HU
    assert volume.shape == (1, 512, 512)
    assert volume.spacing[1:] == (0.478516, 0.478516)
    assert volume.hu.min() <= -1000 and volume.hu.max() > 1000  # air and skull
