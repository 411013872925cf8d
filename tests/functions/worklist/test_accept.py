"""Content negotiation: the client's order of preference, quality, and 406 naming both sides."""

from __future__ import annotations

import pytest
from worklist.accept import parse_accept, pick_image, wants_json

from acme.http import ApiError


def test_ranges_in_the_clients_order_of_preference() -> None:
    ranges = parse_accept(
        'image/png;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=*, */*;q=0.1'
    )
    assert [r.media_type for r in ranges] == ["multipart/related", "image/png", "*/*"]
    assert ranges[0].part_type == "application/dicom" and ranges[0].transfer_syntax == "*"
    assert [r.media_type for r in parse_accept(None)] == ["*/*"]
    assert [r.media_type for r in parse_accept("image/png;q=0")] == ["*/*"]


def test_images_and_json() -> None:
    assert pick_image(None, ("image/jpeg", "image/png")) == "image/jpeg"
    assert pick_image("image/png", ("image/jpeg", "image/png")) == "image/png"
    assert (
        pick_image('multipart/related; type="image/png"', ("image/jpeg", "image/png"))
        == "image/png"
    )
    wants_json("application/json")
    with pytest.raises(ApiError) as raised:
        pick_image("image/gif", ("image/jpeg", "image/png"))
    assert raised.value.status == 406 and "image/gif" in str(raised.value)


@pytest.mark.parametrize("header", ["image", "image/png;q=high", "a/b/c", "x" * 5000])
def test_a_malformed_accept_is_400(header: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_accept(header)
    assert raised.value.status == 400
