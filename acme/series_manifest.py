"""Completion manifests: an uploader declares a series complete (docs/architecture.md §4.1).

A manifest is a small JSON object put into ``dicom-inbox`` under a key ending in
:data:`MANIFEST_SUFFIX`, listing the SOP Instance UIDs of one series. dicom-ingest records it
and completes the series as soon as every listed instance is indexed, once; a series without
a manifest completes after its stable age, as before. The JSON Schema is
``events/series-manifest.schema.json`` (generated from :class:`SeriesManifest`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from io import BytesIO
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from acme.errors import AcmeError
from acme.events.values import DicomUID

__all__ = [
    "MANIFEST_SCHEMA",
    "MANIFEST_SUFFIX",
    "MAX_MANIFEST_BYTES",
    "MAX_MANIFEST_INSTANCES",
    "InvalidManifest",
    "SeriesManifest",
    "is_manifest_key",
    "manifest_key",
    "member_of",
    "parse_manifest",
]

MANIFEST_SUFFIX: Final = ".series-manifest.json"
"""Inbox keys ending in this are manifests, never DICOM."""
MANIFEST_SCHEMA: Final = "acme.series-manifest/1"
MAX_MANIFEST_INSTANCES: Final = 100_000
MAX_MANIFEST_BYTES: Final = 8 * 1024 * 1024
"""100,000 UIDs of 64 characters with their quotes and commas fit."""


class InvalidManifest(AcmeError):
    """A manifest object that is not JSON, or does not follow the schema; says what is wrong."""


class SeriesManifest(BaseModel):
    """One series declared complete: every SOP Instance UID it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["acme.series-manifest/1"] = Field(
        alias="schema", description="The manifest format and its version."
    )
    study_uid: DicomUID
    series_uid: DicomUID
    sop_uids: tuple[DicomUID, ...] = Field(
        min_length=1,
        max_length=MAX_MANIFEST_INSTANCES,
        description="Every SOP Instance UID of the series, each once.",
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("sop_uids")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a SOP Instance UID is listed more than once")
        return value

    @classmethod
    def of(cls, study_uid: str, series_uid: str, sop_uids: Iterable[str]) -> SeriesManifest:
        return cls.model_validate(
            {
                "schema": MANIFEST_SCHEMA,
                "study_uid": study_uid,
                "series_uid": series_uid,
                "sop_uids": tuple(sorted(set(sop_uids))),
            }
        )

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def is_manifest_key(key: str) -> bool:
    return key.endswith(MANIFEST_SUFFIX)


def manifest_key(prefix: str, series_uid: str) -> str:
    return f"{prefix}/{series_uid}{MANIFEST_SUFFIX}"


def member_of(data: bytes) -> tuple[str, str, str] | None:
    """Study, series and SOP Instance UIDs of DICOM ``data``; None when they cannot be read
    (the file is sent all the same, and ingest says what is wrong with it)."""
    try:
        dataset = dcmread(
            BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"],
        )
        uids = (dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID)
    except (InvalidDicomError, AttributeError, EOFError, OSError, ValueError, KeyError):
        return None
    return (str(uids[0]), str(uids[1]), str(uids[2])) if all(uids) else None


def parse_manifest(data: bytes) -> SeriesManifest:
    """The manifest in ``data``; :class:`InvalidManifest` naming the first problems."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise InvalidManifest(f"{len(data)} bytes is over the limit of {MAX_MANIFEST_BYTES}")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifest(f"not JSON: {exc}") from None
    try:
        return SeriesManifest.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'document'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise InvalidManifest(problems) from None
