"""``multipart/related`` bodies (RFC 2387), as WADO-RS answers and STOW-RS requests use them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from acme.http import ApiError, Body

MAX_PARTS: Final = 10_000
_BOUNDARY: Final = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$")


@dataclass(frozen=True)
class Part:
    content_type: str
    content: bytes
    location: str | None = None


def related(parts: Sequence[Part], part_type: str, *, transfer_syntax: str | None = None) -> Body:
    """The multipart/related answer holding ``parts`` (each with its own Content-Type)."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for part in parts:
        head = f"--{boundary}\r\nContent-Type: {part.content_type}\r\n"
        if part.location:
            head += f"Content-Location: {part.location}\r\n"
        chunks += [head.encode("latin-1"), b"\r\n", part.content, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    media = f'multipart/related; type="{part_type}"; boundary={boundary}'
    if transfer_syntax:
        media += f"; transfer-syntax={transfer_syntax}"
    return Body(b"".join(chunks), media)


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type (400 when missing or malformed)."""
    for piece in content_type.split(";")[1:]:
        name, _, value = piece.partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
            if _BOUNDARY.match(boundary) and not boundary.endswith(" "):
                return boundary
            break
    raise ApiError(400, "invalid-body", "Content-Type: multipart/related needs a valid boundary")


def split(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body; 400 naming what is malformed."""
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    if position < 0 or (position > 0 and body[position - 2 : position] != b"\r\n"):
        raise ApiError(400, "invalid-body", "the body holds no part (no boundary delimiter)")
    parts: list[Part] = []
    position += len(delimiter)
    while True:
        if body.startswith(b"--", position):
            return parts
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ApiError(400, "invalid-body", f"part {len(parts) + 1} is cut off")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise ApiError(400, "invalid-body", f"part {len(parts) + 1} has no closing boundary")
        parts.append(_part(body[start:end], len(parts) + 1))
        if len(parts) > MAX_PARTS:
            raise ApiError(400, "invalid-body", f"more than {MAX_PARTS} parts")
        position = end + 2 + len(delimiter)


def _part(raw: bytes, number: int) -> Part:
    head, separator, content = raw.partition(b"\r\n\r\n")
    if not separator:
        if raw.startswith(b"\r\n"):  # no headers at all
            return Part("text/plain", raw[2:])
        raise ApiError(400, "invalid-body", f"part {number} has no blank line after its headers")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Part(headers.get("content-type", "text/plain"), content, headers.get("content-location"))
