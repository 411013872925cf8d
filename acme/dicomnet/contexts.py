"""The SOP classes and transfer syntaxes the receiver accepts (``ACME_DICOM_SOP_CLASSES``,
``ACME_DICOM_TRANSFER_SYNTAXES``).

Transfer syntaxes are named by group (:data:`SYNTAX_GROUPS`) or by UID. The default groups are
those every function here decodes: uncompressed, JPEG 2000, JPEG-LS, JPEG lossless and RLE.
SOP classes are ``storage`` (every Storage SOP Class of pynetdicom's table) or UIDs and
pydicom keywords (``CTImageStorage``). A proposed presentation context outside these is
rejected during negotiation (abstract syntax or transfer syntax not supported).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pydicom._uid_dict import UID_dictionary
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom.presentation import AllStoragePresentationContexts, PresentationContext

from acme.errors import ConfigError

SYNTAX_GROUPS: Final[Mapping[str, tuple[UID, ...]]] = MappingProxyType(
    {
        "uncompressed": (
            ExplicitVRLittleEndian,
            ImplicitVRLittleEndian,
            DeflatedExplicitVRLittleEndian,
            ExplicitVRBigEndian,
        ),
        "jpeg2000": (JPEG2000Lossless, JPEG2000),
        "jpegls": (JPEGLSLossless, JPEGLSNearLossless),
        "jpeg-lossless": (JPEGLosslessSV1, JPEGLossless),
        "rle": (RLELossless,),
    }
)
"""Transfer syntax groups by name (``ACME_DICOM_TRANSFER_SYNTAXES``)."""

ALL_STORAGE: Final = "storage"
VERIFICATION: Final = UID("1.2.840.10008.1.1")


def transfer_syntaxes(text: str) -> tuple[UID, ...]:
    """The UIDs ``text`` names (groups or UIDs, comma-separated), without repeats."""
    found: list[UID] = []
    for part in _parts(text):
        group = SYNTAX_GROUPS.get(part.lower())
        if group is not None:
            found.extend(group)
            continue
        uid = UID(part)
        if not uid.is_valid or not uid.is_transfer_syntax:
            raise ConfigError(
                "ACME_DICOM_TRANSFER_SYNTAXES",
                f"{part!r} is neither a group ({', '.join(SYNTAX_GROUPS)}) nor a transfer"
                " syntax UID",
            )
        found.append(uid)
    if not found:
        raise ConfigError("ACME_DICOM_TRANSFER_SYNTAXES", "names no transfer syntax")
    return tuple(dict.fromkeys(found))


def sop_classes(text: str) -> tuple[UID, ...]:
    """The SOP class UIDs ``text`` names (``storage``, UIDs or keywords), without repeats."""
    storage = [UID(str(cx.abstract_syntax)) for cx in AllStoragePresentationContexts]
    found: list[UID] = []
    for part in _parts(text):
        if part.lower() == ALL_STORAGE:
            found.extend(storage)
            continue
        uid = UID(part) if part[0].isdigit() else _by_keyword(part)
        if not uid.is_valid or uid.is_transfer_syntax:
            raise ConfigError("ACME_DICOM_SOP_CLASSES", f"{part!r} is not a SOP class UID")
        found.append(uid)
    if not found:
        raise ConfigError("ACME_DICOM_SOP_CLASSES", "names no SOP class")
    return tuple(dict.fromkeys(found))


def supported_contexts(
    classes: tuple[str, ...], syntaxes: tuple[str, ...]
) -> list[PresentationContext]:
    """Verification (C-ECHO) plus each SOP class with every accepted transfer syntax."""
    contexts = []
    for abstract in (VERIFICATION, *classes):
        context = PresentationContext()
        context.abstract_syntax = abstract
        context.transfer_syntax = list(syntaxes)
        contexts.append(context)
    return contexts


def _by_keyword(keyword: str) -> UID:
    for uid, entry in UID_dictionary.items():
        if entry[4] == keyword and entry[1] == "SOP Class":
            return UID(uid)
    raise ConfigError("ACME_DICOM_SOP_CLASSES", f"{keyword!r} is not a SOP class keyword")


def _parts(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]
