"""The data of every event type, as frozen pydantic v2 models (docs/architecture.md §2, §3).

One model per type, ``extra="forbid"``: an event with a misspelt or unknown field is rejected,
not silently ignored. :data:`EVENT_MODELS` maps each type to its model and :func:`parse_data`
validates a payload against it, raising :class:`~acme.errors.EventError` naming the type and
the failing field. The JSON Schemas under ``events/`` are generated from these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
    ValidationError,
    model_validator,
)

from acme.errors import EventError
from acme.events.types import S3_TYPE_PREFIX, EventType
from acme.events.values import (
    BodyPart,
    BucketName,
    DestinationName,
    Detail,
    DicomUID,
    DispatchCause,
    DispatchProtocol,
    InferenceFailure,
    InferencePipeline,
    Label,
    Milliseconds,
    Modality,
    ModelName,
    ModelVersion,
    ObjectKey,
    Pipeline,
    Probability,
    RejectReason,
    Sha256,
)


class EventData(BaseModel):
    """Base of every event's data: immutable, and no field beyond those declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def canonical_archive_key(study_uid: str, series_uid: str, sop_uid: str) -> str:
    """The canonical key of an instance in dicom-archive (docs/architecture.md §4)."""
    return f"studies/{study_uid}/series/{series_uid}/{sop_uid}.dcm"


class InstanceStored(EventData):
    """``instance.stored``: a DICOM instance was validated, archived canonically and indexed."""

    study_uid: DicomUID
    series_uid: DicomUID
    sop_uid: DicomUID
    sop_class_uid: DicomUID
    modality: Modality
    body_part: BodyPart | None = None
    transfer_syntax: DicomUID = Field(description="Transfer Syntax UID as archived.")
    archive_bucket: BucketName
    archive_key: ObjectKey = Field(description="studies/<StudyUID>/series/<SeriesUID>/<SOP>.dcm")
    source_bucket: BucketName = Field(description="The inbox bucket the object arrived in.")
    source_key: ObjectKey = Field(description="The inbox key the object arrived under.")
    sha256: Sha256
    size: int = Field(gt=0, description="Size of the archived object in bytes.")
    received_at: AwareDatetime

    @model_validator(mode="after")
    def _archive_key_is_canonical(self) -> Self:
        expected = canonical_archive_key(self.study_uid, self.series_uid, self.sop_uid)
        if self.archive_key != expected:
            raise ValueError(f"archive_key must be {expected!r}, got {self.archive_key!r}")
        return self


class InstanceRejected(EventData):
    """``instance.rejected``: an inbox object was quarantined, with a reason code."""

    bucket: BucketName = Field(description="The inbox bucket the object arrived in.")
    key: ObjectKey = Field(description="The inbox key the object arrived under.")
    reason_code: RejectReason
    detail: Detail
    quarantine_bucket: BucketName
    quarantine_key: ObjectKey
    size: int | None = Field(default=None, ge=0)
    sha256: Sha256 | None = None
    study_uid: DicomUID | None = Field(default=None, description="When it could be read.")
    series_uid: DicomUID | None = None
    sop_uid: DicomUID | None = None
    rejected_at: AwareDatetime


class SeriesCompleted(EventData):
    """``series.completed``: no new instance for the series' stable age; routed to a pipeline."""

    study_uid: DicomUID
    series_uid: DicomUID
    modality: Modality
    body_part: BodyPart | None = None
    pipeline: Pipeline
    rule: str | None = Field(default=None, max_length=128, description="Routing rule matched.")
    instance_count: int = Field(ge=1)
    completion: int = Field(
        default=1,
        ge=1,
        description="1 the first time; n after late instances reopened the series n-1 times.",
    )
    completed_at: AwareDatetime


class SeriesReopened(EventData):
    """``series.reopened``: an instance arrived after its series completed.

    The series completes again after its stable age (``series.completed`` with the next
    ``completion``); its inference and report then follow that completion. Earlier results
    and report versions stay as they were.
    """

    study_uid: DicomUID
    series_uid: DicomUID
    sop_uid: DicomUID = Field(description="The late instance that reopened the series.")
    modality: Modality
    body_part: BodyPart | None = None
    pipeline: Pipeline = Field(description="The pipeline of the completion that was reopened.")
    completion: int = Field(ge=1, description="The completion the late instance reopened.")
    reopened_at: AwareDatetime


class ModelRef(EventData):
    """A model in the registry: ``models/<name>/<version>/model.onnx``."""

    name: ModelName
    version: ModelVersion


class Coding(EventData):
    """A code for a finding label (e.g. SNOMED CT): FHIR-style system URI, code and display."""

    system: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=1, max_length=64)
    display: str = Field(min_length=1, max_length=256)


Millimetres = Annotated[float, Field(ge=0.0, le=5000.0, description="A length in mm.")]
PatientPoint = tuple[
    Annotated[float, Field(ge=-5000.0, le=5000.0)],
    Annotated[float, Field(ge=-5000.0, le=5000.0)],
    Annotated[float, Field(ge=-5000.0, le=5000.0)],
]


class NoduleMeasurement(EventData):
    """Where a lesion found in a CT volume lies and how large it is.

    Coordinates are the patient's (DICOM LPS: x to the patient's left, y to the back, z to the
    head), in mm. ``slices`` are 1-based positions in the volume as assembled (sorted along the
    slice normal), ``sop_uids`` the instances of those slices, in that order.
    """

    number: int = Field(ge=1, le=999, description="1, 2, ... within the run: its tracking id.")
    diameter_mm: Millimetres = Field(
        gt=0.0, description="Diameter of the sphere of the lesion's segmented volume."
    )
    volume_mm3: float = Field(gt=0.0, le=1e7)
    centre_mm: PatientPoint = Field(description="Centre of mass, patient (LPS) coordinates.")
    side: Literal["left", "right"] = Field(description="The patient's side it lies on.")
    slices: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] = Field(
        description="First and last slice (1-based, in volume order) it appears on."
    )
    sop_uids: tuple[DicomUID, ...] = Field(
        min_length=1, max_length=512, description="The instances of those slices, in order."
    )
    key_image_key: ObjectKey | None = Field(
        default=None, description="A PNG of its centre slice, marked, in the results bucket."
    )

    @model_validator(mode="after")
    def _slices_match(self) -> Self:
        first, last = self.slices
        if last < first:
            raise ValueError(f"slices {self.slices}: the last comes before the first")
        if len(self.sop_uids) != last - first + 1:
            raise ValueError(f"sop_uids has {len(self.sop_uids)} UIDs for slices {first}..{last}")
        return self


class Finding(EventData):
    """One model label's result on one series; ``positive`` is exactly ``probability >=
    threshold``.

    The one type of a finding: the row of the ``findings`` table, the item of
    ``inference.completed`` and the line of a report are each a :class:`Finding`. A lesion
    found in a CT volume is a finding with a ``measurement``: one finding per lesion (a label
    may then recur, each time with its own ``measurement.number``).
    """

    label: Label
    probability: Probability
    threshold: Probability
    positive: bool
    sop_uid: DicomUID | None = Field(
        default=None, description="The instance whose image gave the probability (the highest)."
    )
    heatmap_key: ObjectKey | None = Field(
        default=None, description="Its heatmap in the results bucket (positive findings)."
    )
    code: Coding | None = Field(
        default=None, description="The label's code, from the model card when it has one."
    )
    measurement: NoduleMeasurement | None = Field(
        default=None, description="Size and place of the lesion (CT findings)."
    )

    @property
    def key(self) -> tuple[str, int]:
        """What names the finding within its run: its label (and lesion number)."""
        return self.label, self.measurement.number if self.measurement else 0

    @model_validator(mode="after")
    def _positive_matches_threshold(self) -> Self:
        if self.positive != (self.probability >= self.threshold):
            raise ValueError(
                f"positive must be {self.probability >= self.threshold} for probability "
                f"{self.probability} and threshold {self.threshold}"
            )
        return self


class Heatmap(EventData):
    """A heatmap image for one label, stored in the results bucket."""

    label: Label
    key: ObjectKey


class Timings(EventData):
    """Where the time of one inference run went."""

    queue_ms: Milliseconds = 0.0
    load_ms: Milliseconds = Field(default=0.0, description="Model load (0 when already loaded).")
    preprocess_ms: Milliseconds
    inference_ms: Milliseconds
    postprocess_ms: Milliseconds
    total_ms: Milliseconds


QaItemName = Literal["water-mean", "noise", "uniformity"]


class QaItem(EventData):
    """One measurement of a CT QA phantom check and whether it is within tolerance.

    ``water-mean``: mean CT number in the central region (HU; expected 0); ``noise``: its
    standard deviation (HU); ``uniformity``: the largest difference between a peripheral
    region's mean and the central one (HU; expected 0). It passes when ``value`` lies within
    ``[lower, upper]``.
    """

    name: QaItemName
    value: float = Field(ge=-5000.0, le=5000.0)
    unit: Literal["HU"] = "HU"
    lower: float = Field(ge=-5000.0, le=5000.0)
    upper: float = Field(ge=-5000.0, le=5000.0)
    passed: bool

    @model_validator(mode="after")
    def _passed_matches_tolerance(self) -> Self:
        within = self.lower <= self.value <= self.upper
        if self.passed != within:
            raise ValueError(
                f"passed must be {within} for {self.name} {self.value} within "
                f"[{self.lower}, {self.upper}]"
            )
        return self


class QaResult(EventData):
    """A CT QA phantom check: each item, and the verdict (it passes when every item does)."""

    passed: bool
    items: tuple[QaItem, ...] = Field(min_length=1)
    sop_uid: DicomUID = Field(description="The slice measured (the volume's middle slice).")
    phantom_diameter_mm: Millimetres = Field(gt=0.0)

    @model_validator(mode="after")
    def _verdict(self) -> Self:
        names = [item.name for item in self.items]
        if len(names) != len(set(names)):
            raise ValueError("items must name each measurement once")
        if self.passed != all(item.passed for item in self.items):
            raise ValueError("passed must be true exactly when every item passed")
        return self


class InferenceCompleted(EventData):
    """``inference.completed``: a model ran on a series; findings are not for diagnosis.

    For ``pipeline`` ``ct-qa`` the result is ``qa`` (no findings) and ``model`` names the
    check's procedure and version.
    """

    study_uid: DicomUID
    series_uid: DicomUID
    run_id: UUID
    pipeline: InferencePipeline
    modality: Modality | None = Field(default=None, description="The series' modality.")
    body_part: BodyPart | None = None
    model: ModelRef
    device: Literal["cpu", "cuda"]
    execution_provider: str = Field(min_length=1, max_length=64)
    findings: tuple[Finding, ...]
    results_bucket: BucketName
    heatmaps: tuple[Heatmap, ...] = ()
    timings: Timings
    not_for_diagnosis: bool = Field(description="True unless the model is cleared for use.")
    qa: QaResult | None = Field(default=None, description="The QA check (pipeline ct-qa).")
    completed_at: AwareDatetime

    @model_validator(mode="after")
    def _labels_are_unique(self) -> Self:
        keys = [finding.key for finding in self.findings]
        if len(keys) != len(set(keys)):
            raise ValueError("findings must name each label (and lesion number) once")
        labels = {finding.label for finding in self.findings}
        unknown = {heatmap.label for heatmap in self.heatmaps} - labels
        if unknown:
            raise ValueError(f"heatmaps name labels without a finding: {sorted(unknown)}")
        if (self.pipeline == "ct-qa") != (self.qa is not None):
            raise ValueError("qa is given exactly when pipeline is ct-qa")
        return self


class InferenceFailed(EventData):
    """``inference.failed``: a run gave up; ``retryable`` says whether a replay may succeed."""

    study_uid: DicomUID
    series_uid: DicomUID
    run_id: UUID
    pipeline: InferencePipeline
    modality: Modality | None = Field(default=None, description="The series' modality.")
    body_part: BodyPart | None = None
    model: ModelRef | None = Field(default=None, description="None when no model was loaded.")
    reason_code: InferenceFailure
    detail: Detail
    attempts: int = Field(ge=1)
    retryable: bool
    failed_at: AwareDatetime


class ReportArtifacts(EventData):
    """The rendered forms of a report version in the results bucket."""

    bucket: BucketName
    fhir_key: ObjectKey = Field(description="FHIR R4 DiagnosticReport bundle (JSON).")
    html_key: ObjectKey
    pdf_key: ObjectKey | None = None
    sr_key: ObjectKey | None = Field(default=None, description="DICOM SR, when produced.")


class ReportDrafted(EventData):
    """``report.drafted``: a report version awaits a clinician's review."""

    report_id: UUID
    version: int = Field(ge=1)
    status: Literal["draft"] = "draft"
    study_uid: DicomUID
    run_ids: tuple[UUID, ...] = Field(description="Inference runs the report is built from.")
    artifacts: ReportArtifacts
    not_for_diagnosis: bool
    drafted_at: AwareDatetime


class ReportSigned(EventData):
    """``report.signed``: a clinician signed a report version (final, or amending one)."""

    report_id: UUID
    version: int = Field(ge=1)
    status: Literal["final", "amended"]
    study_uid: DicomUID
    signed_by: str = Field(min_length=1, max_length=128, description="The signer's user id.")
    signer_role: str = Field(min_length=1, max_length=64)
    content_sha256: Sha256 = Field(description="SHA-256 of the signed report content.")
    signed_at: AwareDatetime


class DispatchRequested(EventData):
    """``dispatch.requested``: a report version is to be sent to one PACS destination."""

    report_id: UUID
    version: int = Field(ge=1)
    study_uid: DicomUID
    destination: DestinationName
    cause: DispatchCause
    requested_at: AwareDatetime


class DispatchDelivered(EventData):
    """``dispatch.delivered``: the destination accepted every object of a report version."""

    report_id: UUID
    version: int = Field(ge=1)
    study_uid: DicomUID
    destination: DestinationName
    protocol: DispatchProtocol
    sop_uids: tuple[DicomUID, ...] = Field(
        min_length=1, description="SOP Instance UIDs sent: the SR, then the key object if any."
    )
    attempts: int = Field(ge=1, description="Attempts this delivery took.")
    delivered_at: AwareDatetime


class DispatchFailed(EventData):
    """``dispatch.failed``: one attempt to send a report version to a destination failed (the
    router retries it, then dead-letters the ``dispatch.requested`` event)."""

    report_id: UUID
    version: int = Field(ge=1)
    study_uid: DicomUID
    destination: DestinationName
    protocol: DispatchProtocol
    attempt: int = Field(ge=1)
    detail: Detail
    failed_at: AwareDatetime


class AccessRecorded(EventData):
    """``access.recorded``: someone read (or tried to read) protected health information."""

    actor: str = Field(min_length=1, max_length=128, description="User or service id.")
    role: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    action: Literal["read", "search", "render", "download", "export", "sign", "update"]
    resource: str = Field(min_length=1, max_length=1024, description="e.g. a request path.")
    study_uid: DicomUID | None = None
    when: AwareDatetime
    source_ip: IPvAnyAddress
    outcome: Literal["success", "denied", "error"]
    request_id: str | None = Field(default=None, max_length=128)


class Tick(EventData):
    """``tick``: the heartbeat that drives series completion and the inbox sweep."""

    at: AwareDatetime
    sequence: int = Field(ge=0, description="Increases by one per tick of one emitter.")


class S3Object(EventData):
    """Data of ``com.amazonaws.s3.*`` events: the object of one S3 event record, key decoded."""

    event_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]+(:[A-Za-z*]+)*$")] = Field(
        description="The S3 eventName without MinIO's s3: prefix, e.g. ObjectCreated:Put."
    )
    bucket: BucketName
    key: ObjectKey
    size: int | None = Field(default=None, ge=0, description="Absent for removals.")
    etag: str | None = Field(default=None, max_length=128)
    version_id: str | None = Field(default=None, max_length=1024)
    sequencer: str | None = Field(
        default=None, max_length=64, description="Hex; orders the events of one key."
    )
    content_type: str | None = Field(default=None, max_length=255)


EVENT_MODELS: Mapping[str, type[EventData]] = MappingProxyType(
    {
        EventType.INSTANCE_STORED: InstanceStored,
        EventType.INSTANCE_REJECTED: InstanceRejected,
        EventType.SERIES_COMPLETED: SeriesCompleted,
        EventType.SERIES_REOPENED: SeriesReopened,
        EventType.INFERENCE_COMPLETED: InferenceCompleted,
        EventType.INFERENCE_FAILED: InferenceFailed,
        EventType.REPORT_DRAFTED: ReportDrafted,
        EventType.REPORT_SIGNED: ReportSigned,
        EventType.DISPATCH_REQUESTED: DispatchRequested,
        EventType.DISPATCH_DELIVERED: DispatchDelivered,
        EventType.DISPATCH_FAILED: DispatchFailed,
        EventType.ACCESS_RECORDED: AccessRecorded,
        EventType.TICK: Tick,
    }
)
"""Each ``org.acme.imaging.*`` type's data model; ``com.amazonaws.s3.*`` use :class:`S3Object`."""


def model_for(event_type: str) -> type[EventData]:
    """The data model of ``event_type``; :class:`EventError` for a type the platform lacks."""
    model = EVENT_MODELS.get(event_type)
    if model is not None:
        return model
    if event_type.startswith(S3_TYPE_PREFIX) and len(event_type) > len(S3_TYPE_PREFIX):
        return S3Object
    raise EventError(
        f"type: unknown event type {event_type!r}; expected one of "
        f"{', '.join(EVENT_MODELS)} or {S3_TYPE_PREFIX}<eventName>"
    )


def parse_data(event_type: str, data: Any) -> EventData:
    """Validate ``data`` (JSON-decoded) as the data of ``event_type``.

    Raises :class:`EventError` naming the type and the first failing field.
    """
    model = model_for(event_type)
    if data is None:
        raise EventError(f"{event_type} data: expected a JSON object, got no data")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise EventError(f"{event_type} data: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError, *, name_field: bool = True) -> str:
    """One line naming the first failing field, its problem and the value received."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = _location(first["loc"]) if name_field else ""
    received = _short_repr(first.get("input"))
    text = f"field {where!r}: {first['msg']}" if where else str(first["msg"])
    if first["type"] != "missing":
        text += f" (got {received})"
    if len(errors) > 1:
        text += f"; and {len(errors) - 1} more error(s)"
    return text


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
