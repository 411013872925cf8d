"""multipart/related bodies: what WADO-RS writes reads back; hostile bodies are a clear 400."""

from __future__ import annotations

import pytest
from worklist.multipart import Part, boundary_of, related, split

from acme.http import ApiError


def test_parts_written_read_back_byte_for_byte() -> None:
    binary = bytes(range(256)) * 4 + b"\r\n--not-the-boundary\r\n"
    body = related([Part("application/dicom", binary), Part("image/jp2", b"")], "application/dicom")
    parts = split(body.content, boundary_of(body.media_type))
    assert [(p.content_type, p.content) for p in parts] == [
        ("application/dicom", binary),
        ("image/jp2", b""),
    ]
    assert body.media_type.startswith('multipart/related; type="application/dicom"; boundary=')


def test_a_quoted_boundary_and_a_preamble() -> None:
    body = b"preamble\r\n--b-1\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--b-1--\r\n"
    (part,) = split(
        body, boundary_of('multipart/related; type="application/dicom"; boundary="b-1"')
    )
    assert part.content == b"DICM"


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        ("multipart/related", b"", "boundary"),
        ("multipart/related; boundary=" + "x" * 71, b"", "boundary"),
        ("multipart/related; boundary=b", b"no delimiter here", "no part"),
        ("multipart/related; boundary=b", b"--b\r\nContent-Type: x\r\n\r\nnever closed", "closing"),
        ("multipart/related; boundary=b", b"--b\r\nContent-Type: x\r\n--b--", "blank line"),
        ("multipart/related; boundary=b", b"--b", "cut off"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(content_type: str, body: bytes, says: str) -> None:
    with pytest.raises(ApiError) as raised:
        split(body, boundary_of(content_type))
    assert raised.value.status == 400 and says in str(raised.value)
