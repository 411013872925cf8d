"""The model card (``model.json``): what a model takes, what it says, and how far to trust it.

A card is a frozen pydantic model with ``extra="forbid"``: a misspelt field is an error, not
a silent default. Registration checks the ONNX graph against it (:mod:`acme.models._onnx`).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from acme.events.models import Coding, describe_validation_error
from acme.events.values import (
    InferencePipeline,
    Label,
    Modality,
    ModelName,
    ModelVersion,
    Probability,
    Sha256,
)
from acme.imaging import Preprocessing
from acme.models._errors import ModelCardError

CARD_NAME = "model.json"
ONNX_NAME = "model.onnx"

Dim = Annotated[
    int | Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")],
    Field(description="A fixed size (>= 1), or a name for a size chosen at run time (batch)."),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Model):
    """The graph's one input: an NCHW float32 image batch."""

    name: str = Field(min_length=1, max_length=128, description="The ONNX graph input's name.")
    shape: tuple[Dim, Dim, Dim, Dim] = Field(
        description="[batch, channels, height, width]; batch may be a name (dynamic)."
    )
    dtype: Literal["float32"] = "float32"
    layout: Literal["NCHW"] = "NCHW"

    @model_validator(mode="after")
    def _image_dims(self) -> Self:
        batch, channels, height, width = self.shape
        if isinstance(batch, int) and batch < 1:
            raise ValueError(f"shape[0] (batch) {batch}: expected >= 1 or a name")
        if channels not in (1, 3):
            raise ValueError(f"shape[1] (channels) {channels!r}: expected 1 or 3")
        for axis, size in (("height", height), ("width", width)):
            if not isinstance(size, int) or not 8 <= size <= 4096:
                raise ValueError(f"shape {axis} {size!r}: expected a fixed size in 8..4096")
        return self

    @property
    def channels(self) -> int:
        return int(self.shape[1])

    @property
    def height(self) -> int:
        return int(self.shape[2])

    @property
    def width(self) -> int:
        return int(self.shape[3])

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the graph requires, or None when it takes any."""
        batch = self.shape[0]
        return batch if isinstance(batch, int) else None


class OutputSpec(_Model):
    """The graph output holding one score per label, shape [batch, labels]."""

    name: str = Field(min_length=1, max_length=128, description="The ONNX graph output's name.")
    dtype: Literal["float32"] = "float32"
    kind: Literal["probabilities", "logits"] = Field(
        default="probabilities",
        description="probabilities: the graph ends in a sigmoid; logits: the platform applies it.",
    )


class LabelSpec(_Model):
    """One output label and the probability at or above which it is reported positive."""

    name: Label
    threshold: Probability
    description: str = Field(default="", max_length=500)
    coding: Coding | None = None


class LabelMetrics(_Model):
    """Held-out performance of one label (at the card's threshold)."""

    auc: float = Field(ge=0, le=1, description="Area under the ROC curve.")
    sensitivity: float = Field(ge=0, le=1)
    specificity: float = Field(ge=0, le=1)
    accuracy: float = Field(ge=0, le=1)
    positives: int = Field(ge=0, description="Images carrying the label in the held-out set.")
    negatives: int = Field(ge=0)


class Training(_Model):
    """How the model was made."""

    data: str = Field(min_length=1, max_length=2000, description="What it was trained on.")
    method: str = Field(min_length=1, max_length=2000, description="Architecture, loss, optimiser.")
    images: int | None = Field(default=None, ge=1)
    script: str | None = Field(default=None, description="The script that trained it, if any.")
    seed: int | None = None


class DetectionMetrics(_Model):
    """Held-out performance of a lesion detector, per lesion and per scan."""

    scans: int = Field(ge=1, description="Volumes in the held-out set.")
    lesions: int = Field(ge=0, description="Lesions they hold.")
    sensitivity: float = Field(ge=0, le=1, description="Share of lesions found.")
    false_positives_per_scan: float = Field(ge=0)
    match_tolerance_mm: float = Field(
        gt=0, description="A detection counts when its centre is this close (or within the radius)."
    )
    diameter_error_mm_mean: float = Field(ge=0, description="Mean |measured - true| diameter.")
    diameter_error_mm_max: float = Field(ge=0)
    centre_error_mm_mean: float = Field(ge=0)


class Evaluation(_Model):
    """How the model was measured, on images it never saw in training or threshold tuning."""

    data: str = Field(min_length=1, max_length=2000)
    images: int = Field(ge=1)
    accuracy: float | None = Field(
        default=None, ge=0, le=1, description="Share of images with every label right."
    )
    labels: dict[str, LabelMetrics] = Field(default_factory=dict)
    detection: DetectionMetrics | None = Field(
        default=None, description="Lesion detectors: found lesions, false positives, sizes."
    )


class ModelCard(_Model):
    """``model.json``: the model registry's record of one model version."""

    schema_version: Literal[1] = 1
    name: ModelName
    version: ModelVersion
    task: Literal["multi-label-classification"] = "multi-label-classification"
    pipeline: InferencePipeline
    modalities: tuple[Modality, ...] = Field(min_length=1, description="e.g. CR, DX.")
    input: InputSpec
    output: OutputSpec
    preprocessing: Preprocessing
    labels: tuple[LabelSpec, ...] = Field(min_length=1, max_length=256)
    intended_use: str = Field(min_length=1, max_length=2000)
    diagnostic_use: bool = Field(
        description="True only for a model cleared for diagnosis; results say so otherwise."
    )
    sha256: Sha256 = Field(description="SHA-256 of model.onnx.")
    training: Training
    evaluation: Evaluation | None = None

    @model_validator(mode="after")
    def _labels_consistent(self) -> Self:
        names = [label.name for label in self.labels]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"labels: {', '.join(repeated)} listed more than once")
        if len(self.preprocessing.mean) not in (1, self.input.channels):
            raise ValueError(
                f"preprocessing.mean has {len(self.preprocessing.mean)} values for "
                f"{self.input.channels} input channel(s)"
            )
        if self.evaluation is not None:
            unknown = sorted(set(self.evaluation.labels) - set(names))
            if unknown:
                raise ValueError(f"evaluation.labels names unknown labels: {', '.join(unknown)}")
        return self

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(label.threshold for label in self.labels)

    @property
    def ref(self) -> str:
        """``name/version``, as the registry keys it."""
        return f"{self.name}/{self.version}"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = CARD_NAME) -> ModelCard:
        """Parse a card; :class:`ModelCardError` names ``where`` and the failing field."""
        try:
            raw = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelCardError(f"{where}: not JSON ({exc})") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ModelCardError(f"{where}: {describe_validation_error(exc)}") from None
