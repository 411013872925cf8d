"""Resampling, the card's resize modes and normalisation, and the PNG encoder."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from pydantic import ValidationError

from acme.imaging import (
    PNG_SIGNATURE,
    Preprocessing,
    encode_png,
    fit,
    heatmap_overlay,
    resample,
    to_display,
    to_model_input,
)


def _weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) triangle-filter weights mapping n_in samples onto n_out, their
    support widened by the reduction factor: the dense definition resampling must match."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centers = (np.arange(n_out, dtype=np.float64) + 0.5) * scale
    positions = np.arange(n_in, dtype=np.float64) + 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(positions[None, :] - centers[:, None]) / support)
    return weights / weights.sum(axis=1, keepdims=True)


def test_downsampling_averages_and_keeps_constants() -> None:
    np.testing.assert_allclose(resample(np.full((97, 61), 0.25), 13, 7), 0.25, atol=1e-6)
    checker = np.indices((64, 64)).sum(axis=0) % 2
    np.testing.assert_allclose(resample(checker.astype(np.float32), 8, 8), 0.5, atol=1e-3)


def test_the_resize_modes() -> None:
    tall = np.ones((200, 100), dtype=np.float32)
    assert fit(tall, 32, 32, "stretch").shape == (32, 32)
    np.testing.assert_allclose(fit(tall, 32, 32, "center-crop"), 1.0, atol=1e-6)
    boxed = fit(tall, 32, 32, "letterbox")
    assert boxed[:, :8].max() == 0.0 and boxed[:, 24:].max() == 0.0
    np.testing.assert_allclose(boxed[:, 8:24], 1.0, atol=1e-6)


def test_model_input_follows_the_card_and_round_trips_to_display() -> None:
    prep = Preprocessing(value_range=(0.0, 255.0), mean=(124.0, 116.0, 104.0), std=(58.0,) * 3)
    display = np.linspace(0, 1, 300 * 300, dtype=np.float32).reshape(300, 300)
    x = to_model_input(display, prep, channels=3, height=224, width=224)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    fitted = fit(display, 224, 224, "stretch")
    np.testing.assert_allclose(x[1], (fitted * 255 - 116) / 58, atol=1e-4)
    np.testing.assert_allclose(to_display(x, prep), fitted, atol=1e-5)


def test_preprocessing_cards_are_checked() -> None:
    with pytest.raises(ValidationError, match="mean has 3 values but std has 1"):
        Preprocessing(mean=(0.1, 0.2, 0.3), std=(1.0,))
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Preprocessing.model_validate({"resize": "stretch", "window": "lung"})


def _decode_png(data: bytes) -> tuple[int, int, int, np.ndarray]:
    assert data[:8] == PNG_SIGNATURE
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    channels = {0: 1, 2: 3, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, -1)
    assert set(rows[:, 0]) == {2}  # filter "Up"
    pixels = np.cumsum(rows[:, 1:].astype(np.int64), axis=0) % 256
    return width, height, channels, pixels.reshape(height, width, channels).astype(np.uint8)


@pytest.mark.parametrize("shape", [(5, 7), (6, 4, 3), (3, 9, 4)])
def test_png_round_trips(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    width, height, channels, decoded = _decode_png(encode_png(pixels))
    assert (height, width) == shape[:2] and channels == (shape[2] if len(shape) == 3 else 1)
    np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)


def test_an_overlay_leaves_cold_pixels_as_they_were() -> None:
    base = np.full((4, 4), 0.5, dtype=np.float32)
    heat = np.zeros((4, 4), dtype=np.float32)
    heat[0, 0] = 1.0
    rgb = heatmap_overlay(base, heat)
    assert rgb.shape == (4, 4, 3)
    assert (rgb[1:, 1:] == 128).all()
    assert rgb[0, 0, 0] > rgb[0, 0, 2]  # hot is red


@pytest.mark.parametrize(
    ("shape", "target"),
    [((1024, 1024), (224, 224)), ((1955, 1841), (448, 448)), ((90, 70), (224, 224)),
     ((5, 7), (3, 2)), ((3000, 40), (5, 40)), ((7, 7), (14, 14)), ((61, 97), (200, 50))],
)  # fmt: skip
def test_resampling_is_the_full_weighted_sum_of_the_triangle_filter(
    shape: tuple[int, int], target: tuple[int, int]
) -> None:
    image = np.random.default_rng(3).random(shape, dtype=np.float32) * 4095
    dense = _weights(shape[0], target[0]) @ image @ _weights(shape[1], target[1]).T
    out = resample(image, *target)
    assert out.shape == target and out.dtype == np.float32
    np.testing.assert_allclose(out, dense, rtol=0, atol=4095 * 1e-6)
