"""DICOM JSON (PS3.18 F.2) of the attributes the index holds, by keyword."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword

Json = dict[str, Any]

_NUMBERS = frozenset({"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "SV", "UV"})


def tag_of(keyword: str) -> str:
    """``StudyInstanceUID`` -> ``0020000D``."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword!r} is not a DICOM keyword")
    return f"{tag:08X}"


def element(keyword: str, value: Any) -> tuple[str, Json]:
    """One attribute as DICOM JSON: ``(tag, {"vr": ..., "Value": [...]})``; a value of None or
    "" is present without a ``Value`` (zero length)."""
    tag = tag_of(keyword)
    vr = dictionary_VR(int(tag, 16))
    values = value if isinstance(value, list | tuple) else [value]
    shown = [_value(vr, v) for v in values if v is not None and v != ""]
    return tag, ({"vr": vr, "Value": shown} if shown else {"vr": vr})


def dataset(pairs: Iterable[tuple[str, Any]]) -> Json:
    """A DICOM JSON object of ``(keyword, value)`` pairs, in tag order."""
    items = dict(element(keyword, value) for keyword, value in pairs)
    return {tag: items[tag] for tag in sorted(items)}


def _value(vr: str, value: Any) -> Any:
    if vr == "PN":
        return {"Alphabetic": str(value)}
    if vr in _NUMBERS:
        return int(value) if vr != "DS" and vr not in ("FL", "FD") else float(value)
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, time):
        return value.strftime("%H%M%S")
    return str(value)
