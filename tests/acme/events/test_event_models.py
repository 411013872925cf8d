from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from acme.errors import EventError
from acme.events import (
    EVENT_MODELS,
    EventData,
    EventType,
    Finding,
    InstanceStored,
    S3Object,
    model_for,
    parse_data,
)


def test_every_type_has_a_model() -> None:
    assert set(EVENT_MODELS) == set(EventType)
    assert model_for("com.amazonaws.s3.ObjectRemoved:Delete") is S3Object


def test_every_sample_round_trips_through_json(samples: dict[str, EventData]) -> None:
    assert set(EventType) <= set(samples)
    for event_type, data in samples.items():
        wire = json.loads(json.dumps(data.model_dump(mode="json")))
        parsed = parse_data(event_type, wire)
        assert parsed == data, event_type
        assert type(parsed) is type(data)


def test_models_are_frozen(samples: dict[str, EventData]) -> None:
    with pytest.raises(ValidationError):
        samples[EventType.TICK].sequence = 3  # type: ignore[attr-defined]


def _wire(samples: dict[str, EventData], event_type: str, **changes: Any) -> dict[str, Any]:
    data = samples[event_type].model_dump(mode="json")
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("event_type", "changes", "message"),
    [
        (EventType.TICK, {"extra": 1}, "field 'extra': Extra inputs are not permitted"),
        (EventType.TICK, {"sequence": -1}, "field 'sequence': Input should be greater than"),
        (EventType.INSTANCE_STORED, {"sop_uid": "1.2.abc"}, "field 'sop_uid': String should"),
        (EventType.INSTANCE_STORED, {"sop_uid": "1." * 40 + "1"}, "field 'sop_uid'"),
        (EventType.INSTANCE_STORED, {"sha256": "XYZ"}, "field 'sha256'"),
        (EventType.INSTANCE_STORED, {"archive_key": "elsewhere.dcm"}, "archive_key must be"),
        (EventType.INSTANCE_STORED, {"received_at": "2025-03-04T05:06:07"}, "'received_at'"),
        (EventType.INSTANCE_REJECTED, {"reason_code": "bad"}, "field 'reason_code'"),
        (EventType.SERIES_COMPLETED, {"pipeline": "mri"}, "field 'pipeline'"),
        (EventType.INFERENCE_FAILED, {"reason_code": "oops"}, "field 'reason_code'"),
        (EventType.ACCESS_RECORDED, {"source_ip": "not-an-ip"}, "field 'source_ip'"),
        (EventType.REPORT_SIGNED, {"status": "draft"}, "field 'status'"),
    ],
)
def test_invalid_data_names_the_type_and_field(
    samples: dict[str, EventData], event_type: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventError) as caught:
        parse_data(event_type, _wire(samples, event_type, **changes))
    assert str(caught.value).startswith(f"{event_type} data: ")
    assert message in str(caught.value)


def test_missing_field_is_named(samples: dict[str, EventData]) -> None:
    data = _wire(samples, EventType.INSTANCE_STORED)
    del data["study_uid"]
    with pytest.raises(
        EventError, match=r"instance.stored data: field 'study_uid': Field required"
    ):
        parse_data(EventType.INSTANCE_STORED, data)


def test_nested_field_location(samples: dict[str, EventData]) -> None:
    data = _wire(samples, EventType.INFERENCE_COMPLETED)
    data["findings"][1]["probability"] = 1.5
    with pytest.raises(EventError, match=r"field 'findings\[1\]\.probability'.*\(got 1\.5\)"):
        parse_data(EventType.INFERENCE_COMPLETED, data)


@pytest.mark.parametrize(
    "reason",
    ["not-dicom", "truncated", "too-large", "uid-conflict", "missing-attribute:StudyInstanceUID"],
)
def test_reason_codes(samples: dict[str, EventData], reason: str) -> None:
    data = _wire(samples, EventType.INSTANCE_REJECTED, reason_code=reason)
    assert parse_data(EventType.INSTANCE_REJECTED, data).reason_code == reason  # type: ignore[attr-defined]


def test_finding_positive_must_match_threshold() -> None:
    with pytest.raises(ValidationError, match="positive must be True"):
        Finding(label="Effusion", probability=0.7, threshold=0.5, positive=False)


def test_heatmap_label_needs_a_finding(samples: dict[str, EventData]) -> None:
    data = _wire(samples, EventType.INFERENCE_COMPLETED)
    data["heatmaps"] = [{"label": "Nodule", "key": "h.png"}]
    with pytest.raises(EventError, match="heatmaps name labels without a finding"):
        parse_data(EventType.INFERENCE_COMPLETED, data)


def test_archive_key_is_canonical(samples: dict[str, EventData]) -> None:
    stored = samples[EventType.INSTANCE_STORED]
    assert isinstance(stored, InstanceStored)
    assert (
        stored.archive_key
        == f"studies/{stored.study_uid}/series/{stored.series_uid}/{stored.sop_uid}.dcm"
    )


def test_unknown_type_and_missing_data() -> None:
    with pytest.raises(
        EventError, match=re.escape("type: unknown event type 'org.acme.imaging.nope'")
    ):
        parse_data("org.acme.imaging.nope", {})
    with pytest.raises(EventError, match=re.escape("type: unknown event type 'com.amazonaws.s3.'")):
        parse_data("com.amazonaws.s3.", {})
    with pytest.raises(EventError, match="tick data: expected a JSON object, got no data"):
        parse_data(EventType.TICK, None)
    with pytest.raises(EventError, match="tick data: Input should be a valid dictionary"):
        parse_data(EventType.TICK, [1, 2])


def test_object_key_limit_is_bytes() -> None:
    with pytest.raises(ValidationError, match="at most 1024 bytes"):
        S3Object(event_name="ObjectCreated:Put", bucket="dicom-inbox", key="é" * 600)
