"""The sample set's manifest: every file written, what the platform must do with it, and the
ground truth of the synthetic studies. Written as ``manifest.json`` beside the files.

Files are listed in the order they should be sent: all good files before the bad ones, because
``bad/uid-conflict.dcm`` reuses the SOP Instance UID of a good radiograph and is only a conflict
once that radiograph has been archived.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MANIFEST_NAME = "manifest.json"


class Kind(StrEnum):
    """Whether the platform must accept (good) or quarantine (bad) a file."""

    GOOD = "good"
    BAD = "bad"


class Pipeline(StrEnum):
    """The pipeline routing must choose for a good file's series (``none`` for bad files)."""

    CXR = "cxr"
    CT = "ct"
    CT_QA = "ct-qa"
    NONE = "none"


class Reason(StrEnum):
    """Quarantine reason codes; only ``missing-attribute`` takes a keyword, after a colon
    (``missing-attribute:Modality``)."""

    NOT_DICOM = "not-dicom"
    EMPTY = "empty"
    TRUNCATED = "truncated"
    MISSING_ATTRIBUTE = "missing-attribute"
    UNSUPPORTED_SYNTAX = "unsupported-syntax"
    CORRUPT_PIXEL_DATA = "corrupt-pixel-data"
    UID_CONFLICT = "uid-conflict"
    TOO_LARGE = "too-large"


_REASON = re.compile(r"^(?P<code>[a-z-]+)(?::(?P<detail>[A-Za-z]+))?$")


class CxrFinding(StrEnum):
    """The label a synthetic chest radiograph really carries."""

    NORMAL = "normal"
    OPACITY = "opacity"
    EFFUSION = "effusion"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PixelBox(_Model):
    """A box in pixel indices; the ``*_max`` bounds are exclusive."""

    row_min: int = Field(ge=0)
    col_min: int = Field(ge=0)
    row_max: int = Field(gt=0)
    col_max: int = Field(gt=0)


class CxrTruth(_Model):
    """Ground truth of a synthetic chest radiograph."""

    type: Literal["cxr"] = "cxr"
    finding: CxrFinding
    side: Literal["left", "right"] | None = Field(
        default=None, description="The patient's side of the finding."
    )
    box: PixelBox | None = Field(
        default=None, description="Where the finding is, in the stored image."
    )


class CtNoduleTruth(_Model):
    """One spherical nodule of a synthetic chest CT."""

    center_mm: tuple[float, float, float] = Field(description="Patient (LPS) coordinates.")
    radius_mm: float = Field(gt=0)
    hu: float
    side: Literal["left", "right"] = Field(description="The patient's side.")
    instance_number: int = Field(ge=1, description="The slice through the nodule's centre.")
    row: int = Field(ge=0)
    column: int = Field(ge=0)

    @property
    def diameter_mm(self) -> float:
        return 2.0 * self.radius_mm


class CtChestTruth(_Model):
    """Ground truth of a synthetic chest CT: its nodules (none for a normal study)."""

    type: Literal["ct-chest"] = "ct-chest"
    nodules: tuple[CtNoduleTruth, ...] = ()


class CtQaTruth(_Model):
    """Ground truth of a synthetic water phantom QA scan, and the verdict it must get."""

    type: Literal["ct-qa"] = "ct-qa"
    water_hu: float = Field(description="The water's mean CT number at the centre.")
    noise_hu: float = Field(ge=0, description="Standard deviation of the added noise.")
    cupping_hu: float = Field(description="How much higher the edge reads than the centre.")
    passes: bool = Field(description="What the check must say with the default tolerances.")


Truth = Annotated[CxrTruth | CtChestTruth | CtQaTruth, Field(discriminator="type")]


class SampleFile(_Model):
    """One file of the sample set (or, when ``materialised`` is false, one written on demand)."""

    path: str = Field(description="Relative to the sample directory, with forward slashes.")
    kind: Kind
    category: str = Field(description="The folder-level group, e.g. 'ct' or 'truncated'.")
    description: str
    materialised: bool = True
    size_bytes: int | None = Field(default=None, ge=0)
    sha256: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None
    modality: str | None = None
    transfer_syntax: str | None = None
    expected_pipeline: Pipeline
    expected_reason: str | None = Field(
        default=None, description="The quarantine reason code, e.g. 'missing-attribute:Modality'."
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if not parts or value.startswith("/") or ".." in parts or "\\" in value:
            raise ValueError(f"path: expected a relative forward-slash path, got {value!r}")
        return value

    @field_validator("expected_reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _REASON.match(value)
        if match is None or match["code"] not in set(Reason):
            raise ValueError(f"expected_reason: expected one of {[*Reason]}, got {value!r}")
        if (match["code"] == Reason.MISSING_ATTRIBUTE) != (match["detail"] is not None):
            raise ValueError(f"expected_reason: only missing-attribute takes a keyword: {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is Kind.BAD and (
            self.expected_reason is None or self.expected_pipeline is not Pipeline.NONE
        ):
            raise ValueError(f"{self.path}: a bad file needs a reason and pipeline 'none'")
        if self.kind is Kind.GOOD and self.expected_reason is not None:
            raise ValueError(f"{self.path}: a good file has no expected_reason")
        if self.materialised and (self.size_bytes is None or self.sha256 is None):
            raise ValueError(f"{self.path}: a written file needs size_bytes and sha256")
        return self


class SampleStudy(_Model):
    """One good study: what the platform must make of it, and its ground truth if known."""

    study_uid: str
    series_uid: str
    patient_id: str
    modality: str
    description: str
    instances: int = Field(ge=1)
    expected_pipeline: Pipeline
    truth: Truth | None = None


class SampleManifest(_Model):
    """The whole sample set; ``files`` in send order (good before bad)."""

    format_version: Literal[1] = 1
    seed: int
    ct_slices: int
    files: list[SampleFile]
    studies: list[SampleStudy]

    @model_validator(mode="after")
    def _unique_paths(self) -> Self:
        paths = [f.path for f in self.files]
        if len(paths) != len(set(paths)):
            raise ValueError("files: every path must be listed once")
        return self

    def good(self) -> list[SampleFile]:
        return [f for f in self.files if f.kind is Kind.GOOD]

    def bad(self) -> list[SampleFile]:
        return [f for f in self.files if f.kind is Kind.BAD]

    def file(self, path: str) -> SampleFile:
        """The entry for ``path``; ``KeyError`` names it when absent."""
        for entry in self.files:
            if entry.path == path:
                return entry
        raise KeyError(path)

    def study(self, study_uid: str) -> SampleStudy:
        """The study ``study_uid``; ``KeyError`` names it when absent."""
        for study in self.studies:
            if study.study_uid == study_uid:
                return study
        raise KeyError(study_uid)

    def files_of(self, study_uid: str) -> list[SampleFile]:
        """The good files of one study."""
        return [f for f in self.good() if f.study_uid == study_uid]

    def write(self, directory: Path) -> Path:
        """Write ``manifest.json`` into ``directory`` and return its path."""
        path = directory / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, directory: Path) -> SampleManifest:
        """Read ``manifest.json`` from a sample directory."""
        return cls.model_validate_json((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
