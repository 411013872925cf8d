"""The reports of CT results: nodules as TID 1500 measurement groups and QA results, each a
valid DICOM SR (dciodvfy finds no error), in FHIR and in the PDF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from dciodvfy import dciodvfy_errors
from dicom_ingest.completion import complete_series
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import load_routing
from jetstream import published
from mains import load_main
from pydicom import dcmread

from acme.events import EventType
from acme.function import Context
from acme.samples import SampleManifest

REPO = Path(__file__).resolve().parents[3]
OpenContext = Callable[..., Context]
ROUTING = load_routing(REPO / "functions" / "dicom-ingest" / "routing.yml").model_copy(
    update={"stable_age_seconds": {"default": 0.001}}
)


def _report_of(
    open_context: OpenContext, samples: tuple[Path, SampleManifest], folder: str
) -> tuple[dict[str, str], bytes, bytes, bytes]:
    """Ingest, complete, analyse and report the sample study in ``folder``: the version's
    artifact keys and its SR, FHIR and PDF."""
    root, _ = samples
    ct = open_context()
    for path in sorted((root / "good" / folder).glob("*.dcm")):
        key = f"modality/{folder}/{path.name}"
        ct.store.put(ct.settings.buckets.inbox, key, path.read_bytes())
        assert ingest_object(ct, ct.settings.buckets.inbox, key, None) == "stored"
    complete_series(ct, ROUTING, None)
    [completed] = published(ct.settings, EventType.SERIES_COMPLETED)
    load_main("infer-ct").handler.handle(ct, completed)
    [inferred] = published(ct.settings, EventType.INFERENCE_COMPLETED)
    report = Context.open("report-events", ct.settings)
    try:
        load_main("report").handler.handle(report, inferred)
    finally:
        report.close()
    [drafted] = published(report.settings, EventType.REPORT_DRAFTED)
    artifacts = drafted.data["artifacts"]
    bucket = artifacts["bucket"]
    read = lambda name: ct.store.get(bucket, artifacts[name])  # noqa: E731
    return artifacts, read("sr_key"), read("fhir_key"), read("pdf_key")


def test_the_nodules_of_a_chest_ct_are_a_valid_sr_with_a_measurement_group_each(
    open_context: OpenContext, ct_samples: tuple[Path, SampleManifest], tmp_path: Path
) -> None:
    _keys, sr, fhir, pdf = _report_of(open_context, ct_samples, "ct-two-nodules")
    path = tmp_path / "nodules.sr.dcm"
    path.write_bytes(sr)
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    groups = [
        item for item in _content(dcmread(path))
        if item.ConceptNameCodeSequence[0].CodeMeaning == "Measurement Group"
    ]  # fmt: skip
    assert len(groups) == 2  # one per nodule
    for group in groups:
        measured = {
            i.ConceptNameCodeSequence[0].CodeMeaning: i for i in group.ContentSequence
            if i.ValueType == "NUM"
        }  # fmt: skip
        assert "Diameter" in measured
        unit = measured["Diameter"].MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0]
        assert unit.CodeValue == "mm"
        assert any(i.ValueType == "IMAGE" for i in _content(group))  # the slices it lies on
    bundle = json.loads(fhir)
    observations = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"]  # fmt: skip
    assert sum("component" in o for o in observations) == 2
    assert pdf.startswith(b"%PDF-")


@pytest.mark.parametrize("folder", ["ct-qa-pass", "ct-qa-fail"])
def test_a_qa_phantom_check_is_a_report_of_its_own_and_a_valid_sr(
    open_context: OpenContext,
    ct_samples: tuple[Path, SampleManifest],
    tmp_path: Path,
    folder: str,
) -> None:
    _keys, sr, _fhir, pdf = _report_of(open_context, ct_samples, folder)
    path = tmp_path / "qa.sr.dcm"
    path.write_bytes(sr)
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    assert pdf.startswith(b"%PDF-")


def _content(item: object) -> list:  # type: ignore[type-arg]
    """Every content item under ``item``, depth first."""
    found = []
    for child in getattr(item, "ContentSequence", []):
        found.append(child)
        found.extend(_content(child))
    return found
