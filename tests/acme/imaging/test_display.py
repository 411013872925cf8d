"""DICOM pixels to display values and model input: transfer syntaxes, LUTs, MONOCHROME1."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from acme.imaging import (
    DecodeError,
    Preprocessing,
    UnsupportedImageError,
    display_frames,
    read_dataset,
    to_model_input,
    window,
)
from acme.imaging._display import _by_window_table, _display_values
from acme.samples import render_cxr
from acme.samples.cxr import stored_values
from acme.samples.real import testdata_path as film_path

PREP = Preprocessing(mean=(0.5,), std=(0.25,))


def _tensor(ds: Dataset) -> np.ndarray:
    [frame] = display_frames(ds)
    return to_model_input(frame.pixels, PREP, channels=1, height=224, width=224)


def _dataset(values: np.ndarray, photometric: str, **attributes: object) -> Dataset:
    """A minimal 12-bit grayscale image, uncompressed."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPInstanceUID = generate_uid()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = values.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = values.astype(np.uint16).tobytes()
    return ds


def test_the_real_film_gives_one_tensor_from_its_uncompressed_and_jpeg2000_forms() -> None:
    plain = read_dataset(film_path("RG1_UNCR.dcm").read_bytes())
    j2k = read_dataset(film_path("RG1_J2KR.dcm").read_bytes())
    assert j2k.file_meta.TransferSyntaxUID.name.startswith("JPEG 2000")
    assert plain.PhotometricInterpretation == "MONOCHROME1"

    # JPEG 2000 lossless decodes to the very stored values, so the tolerance is zero.
    np.testing.assert_array_equal(plain.pixel_array, j2k.pixel_array)
    np.testing.assert_array_equal(_tensor(plain), _tensor(j2k))
    [frame] = display_frames(plain)
    assert frame.pixels.shape == (1955, 1841)
    assert frame.voi == "window 15000/30000 LINEAR"


def test_the_real_film_is_shown_with_white_bone_and_dark_lungs() -> None:
    [frame] = display_frames(read_dataset(film_path("RG1_UNCR.dcm").read_bytes()))
    rows, cols = frame.pixels.shape
    spine = frame.pixels[rows // 3 : rows // 2, cols // 2 - 40 : cols // 2 + 40].mean()
    right_lung = frame.pixels[rows // 3 : rows // 2, cols // 4 - 80 : cols // 4 + 80].mean()
    assert spine > right_lung + 0.1


@pytest.mark.parametrize("windowed", [True, False], ids=["window", "percentiles"])
def test_monochrome1_and_its_monochrome2_twin_give_the_same_tensor(windowed: bool) -> None:
    image = render_cxr("effusion", rng=np.random.default_rng(7), size=256)
    attributes: dict[str, object] = {"WindowCenter": 2048, "WindowWidth": 4096} if windowed else {}
    mono1 = _dataset(stored_values(image.pixels, "MONOCHROME1"), "MONOCHROME1", **attributes)
    mono2 = _dataset(stored_values(image.pixels, "MONOCHROME2"), "MONOCHROME2", **attributes)
    assert not np.array_equal(mono1.pixel_array, mono2.pixel_array)

    np.testing.assert_allclose(_tensor(mono1), _tensor(mono2), atol=1e-5)
    if windowed:  # white stays the most attenuating: the display is the rendered image
        [frame] = display_frames(mono1)
        np.testing.assert_allclose(frame.pixels, image.pixels, atol=0.5 / 4095 + 1e-6)


def test_rescale_is_applied_before_the_window() -> None:
    values = np.arange(64, dtype=np.uint16).reshape(8, 8) * 64
    ds = _dataset(
        values, "MONOCHROME2", RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=1000,
        WindowWidth=4001, VOILUTFunction="LINEAR_EXACT",
    )  # fmt: skip
    [frame] = display_frames(ds)
    expected = np.clip((values * 2.0 - 1000 - 1000) / 4001 + 0.5, 0, 1)
    np.testing.assert_allclose(frame.pixels, expected, atol=1e-6)
    assert frame.voi == "window 1000/4001 LINEAR_EXACT"


def test_a_voi_lut_sequence_wins_over_the_window() -> None:
    values = np.tile(np.arange(16, dtype=np.uint16), (4, 1))
    item = Dataset()
    item.LUTDescriptor = [16, 0, 16]
    item.LUTData = [int(v) for v in (np.arange(16) ** 2) * 100]
    ds = _dataset(values, "MONOCHROME2", WindowCenter=8, WindowWidth=16, VOILUTSequence=[item])
    [frame] = display_frames(ds)
    assert frame.voi == "VOI LUT"
    np.testing.assert_allclose(frame.pixels[0], (np.arange(16) ** 2) / 225.0, atol=1e-6)


def test_windowing_follows_ps3_3_c_11_2_1_2() -> None:
    x = np.array([0.0, 99.5, 100.0, 150.0, 300.0])
    np.testing.assert_allclose(window(x, 100, 101), [0.0, 0.5, 0.505, 1.0, 1.0])
    sigmoid = window(np.array([100.0]), 100, 50, "SIGMOID")
    np.testing.assert_allclose(sigmoid, [0.5])
    with pytest.raises(UnsupportedImageError, match="VOILUTFunction 'CURVED'"):
        window(x, 100, 50, "CURVED")


def test_pixel_data_that_cannot_be_decoded_is_a_decode_error() -> None:
    ds = read_dataset(film_path("RG1_J2KR.dcm").read_bytes())
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00" * 200])
    with pytest.raises(DecodeError, match=r"pixel data \(JPEG 2000.*\) could not be decoded"):
        display_frames(ds)


def test_colour_images_and_instances_without_pixels_are_not_taken() -> None:
    rgb = _dataset(np.zeros((4, 12), dtype=np.uint16), "RGB")
    rgb.SamplesPerPixel = 3
    with pytest.raises(UnsupportedImageError, match="'RGB' with SamplesPerPixel 3"):
        display_frames(rgb)
    empty = _dataset(np.zeros((4, 4), dtype=np.uint16), "MONOCHROME2")
    del empty.PixelData
    with pytest.raises(UnsupportedImageError, match="no PixelData"):
        display_frames(empty)
    assert UnsupportedImageError.reason_code == "unsupported-input"
    assert DecodeError.reason_code == "decode-failed"


def test_multi_frame_images_give_one_display_image_per_frame() -> None:
    frames = np.stack([np.full((4, 4), level, dtype=np.uint16) for level in (0, 4095)])
    ds = _dataset(frames.reshape(8, 4), "MONOCHROME2", WindowCenter=2048, WindowWidth=4096)
    ds.Rows, ds.NumberOfFrames = 4, 2
    shown = display_frames(ds)
    assert [f.frame for f in shown] == [0, 1]
    assert shown[0].pixels.max() == 0.0 and shown[1].pixels.min() == 1.0


@pytest.mark.parametrize(
    ("photometric", "function", "signed"),
    [("MONOCHROME2", "LINEAR", False), ("MONOCHROME1", "SIGMOID", False),
     ("MONOCHROME2", "LINEAR_EXACT", True)],
)  # fmt: skip
def test_a_windowed_frame_looked_up_in_a_table_matches_the_window_applied_per_pixel(
    photometric: str, function: str, signed: bool
) -> None:
    values = np.random.default_rng(5).integers(-2000 if signed else 0, 4096, size=(256, 256))
    ds = _dataset(
        values, photometric, RescaleSlope=1.5, RescaleIntercept=-1024, WindowCenter=40,
        WindowWidth=1500, VOILUTFunction=function,
    )  # fmt: skip
    if signed:
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
        ds.PixelData = values.astype(np.int16).tobytes()
    stored = ds.pixel_array
    inverted = photometric == "MONOCHROME1"
    assert _by_window_table(stored, ds, "header", (0.5, 99.5), inverted) is not None  # used
    per_pixel, how = _display_values(stored, ds, "header", (0.5, 99.5), inverted)
    [frame] = display_frames(ds)
    np.testing.assert_array_equal(frame.pixels, per_pixel)
    assert frame.pixels.dtype == np.float32 and frame.voi == how


def test_no_table_stands_for_a_voi_lut_or_a_frame_smaller_than_its_range() -> None:
    values = np.arange(64, dtype=np.uint16).reshape(8, 8) * 64  # 4,033 values in 64 pixels
    small = _dataset(values, "MONOCHROME2", WindowCenter=2000, WindowWidth=4000)
    assert _by_window_table(small.pixel_array, small, "header", (0.5, 99.5), False) is None
    wide = np.random.default_rng(6).integers(0, 4096, size=(256, 256))
    assert _by_window_table(wide, small, "percentile", (0.5, 99.5), False) is None
