"""Content negotiation: the ``Accept`` header (or the ``accept`` query parameter) against what
a resource can be sent as (PS3.18 8.7).

A client lists media types, each with its parameters (``type`` of a ``multipart/related``,
``transfer-syntax``) and a quality; the first acceptable one in the client's order of
preference (quality, then position) wins. None acceptable: :class:`NotAcceptable` (406),
naming what was asked and what the resource offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from acme.http import ApiError

MAX_ACCEPT: Final = 4096


@dataclass(frozen=True)
class MediaRange:
    """One item of an Accept header: ``type/subtype`` with its parameters and quality."""

    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    @property
    def part_type(self) -> str | None:
        """For ``multipart/related``: the ``type`` of its parts."""
        value = self.params.get("type")
        return value.lower() if value else None

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")

    def matches(self, media_type: str) -> bool:
        kind, _, sub = self.media_type.partition("/")
        want_kind, _, want_sub = media_type.partition("/")
        if kind == "*":
            return True
        return kind == want_kind and sub in ("*", want_sub)


class NotAcceptable(ApiError):
    def __init__(self, asked: str, offered: str) -> None:
        super().__init__(406, "not-acceptable", f"Accept {asked!r}: this resource is {offered}")


def parse_accept(value: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header, most preferred first; ``*/*`` when absent."""
    if not value or not value.strip():
        return [MediaRange("*/*")]
    if len(value) > MAX_ACCEPT:
        raise ApiError(400, "invalid-accept", f"Accept is longer than {MAX_ACCEPT} characters")
    ranges: list[tuple[float, int, MediaRange]] = []
    for position, item in enumerate(_split(value, ",")):
        pieces = _split(item, ";")
        if not pieces or not pieces[0]:
            continue
        media_type = pieces[0].strip().lower()
        if media_type.count("/") != 1:
            raise ApiError(400, "invalid-accept", f"Accept: {media_type!r} is not a media type")
        params: dict[str, str] = {}
        quality = 1.0
        for piece in pieces[1:]:
            name, _, raw = piece.partition("=")
            name, text = name.strip().lower(), raw.strip().strip('"').strip()
            if name == "q":
                try:
                    quality = max(0.0, min(1.0, float(text)))
                except ValueError:
                    raise ApiError(400, "invalid-accept", f"Accept: q={text!r}") from None
            elif name:
                params[name] = text
        ranges.append((-quality, position, MediaRange(media_type, params, quality)))
    ranges.sort(key=lambda item: (item[0], item[1]))
    return [r for _, _, r in ranges if r.quality > 0] or [MediaRange("*/*")]


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double quotes (``type="application/dicom"`` holds a slash)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def accept_of(headers: dict[str, str], query: dict[str, str]) -> str | None:
    """The ``accept`` query parameter (PS3.18 8.3.3.1) when given, else the Accept header."""
    if query.get("accept"):
        return query["accept"]
    return next((v for k, v in headers.items() if k.lower() == "accept"), None)


def wants_json(accept: str | None) -> None:
    """Check that a DICOM JSON answer is acceptable (QIDO, metadata); 406 otherwise."""
    for media in parse_accept(accept):
        if media.matches("application/dicom+json") or media.matches("application/json"):
            return
    raise NotAcceptable(accept or "", "application/dicom+json")


def pick_image(accept: str | None, offered: tuple[str, ...]) -> str:
    """The image media type to render (the first of ``offered`` for ``*/*``); 406 otherwise."""
    for media in parse_accept(accept):
        if media.media_type == "multipart/related" and media.part_type:
            media = MediaRange(media.part_type, media.params, media.quality)
        for candidate in offered:
            if media.matches(candidate):
                return candidate
    raise NotAcceptable(accept or "", " or ".join(offered))
