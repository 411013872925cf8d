"""Report content: the one model every form renders; its JSON round-trips, its hash is stable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from pydantic import ValidationError
from report import codes
from report.content import ReportContent, ReportedSeries
from report.draft import ai_impression

from acme.events import Coding

MakeContent = Callable[..., ReportContent]


def test_content_round_trips_through_json_and_its_hash_is_stable(
    make_content: MakeContent,
) -> None:
    content = make_content()
    stored = json.loads(json.dumps(content.model_dump(mode="json")))  # as JSONB keeps it
    assert ReportContent.model_validate(stored) == content
    assert ReportContent.model_validate_json(content.to_json()) == content
    assert ReportContent.model_validate(stored).sha256() == content.sha256()
    assert make_content(impression="Other.").sha256() != content.sha256()
    assert content.not_for_diagnosis and [f.label for f in content.positive] == ["Lung Opacity"]


def test_content_refuses_unknown_fields_and_an_empty_impression(make_content: MakeContent) -> None:
    with pytest.raises(ValidationError, match="extra"):
        make_content(comment="x")
    with pytest.raises(ValidationError, match="impression"):
        make_content(impression="")


def test_the_ai_impression_suggests_and_warns(make_content: MakeContent) -> None:
    content = make_content()
    text = ai_impression(list(content.series), list(content.models))
    assert text.splitlines() == [
        "AI suggests: Lung Opacity (91.0 %)",
        "Below threshold: Pleural Effusion.",
        "Preliminary draft by cxr-synthetic 1.0.0. NOT FOR DIAGNOSTIC USE. To be reviewed and "
        "signed by a radiologist.",
    ]


def test_series_without_results_are_named_and_make_the_content_incomplete(
    make_content: MakeContent,
) -> None:
    content = make_content()
    assert content.complete and content.pending == ()
    ct = ReportedSeries(series_uid="1.2.3.9", modality="CT", pipeline="ct", outcome="pending")
    failed = ReportedSeries(
        series_uid="1.2.3.8", modality="DX", pipeline="cxr", outcome="failed",
        run_id=uuid.uuid4(), model="cxr-synthetic", model_version="1.0.0",
        reason="decode-failed",
    )  # fmt: skip
    partial = make_content(series=(*content.series, ct, failed))
    assert not partial.complete and partial.pending == (ct,) and partial.failed == (failed,)
    lines = ai_impression(list(partial.series), list(partial.models)).splitlines()
    assert lines[2:4] == [
        "Pending: CT series 1.2.3.9 (ct) has no AI result yet.",
        "No AI result for DX series 1.2.3.8 (cxr): inference failed (decode-failed).",
    ]


def test_a_version_stored_before_series_were_listed_still_reads(
    make_content: MakeContent,
) -> None:
    content = make_content()
    stored = content.model_dump(mode="json")
    [series] = stored.pop("series")
    stored.pop("patient_conflicts")
    stored["findings"] = [  # the earlier shape: each finding named its run, series and model
        {"label": f["label"], "probability": f["probability"], "threshold": f["threshold"],
         "positive": f["positive"], "run_id": series["run_id"],
         "series_uid": series["series_uid"], "sop_uid": f["sop_uid"],
         "model": series["model"], "model_version": series["model_version"],
         "heatmap_key": f["heatmap_key"],
         "code": {"scheme": codes.Code.of(Coding(**f["code"])).scheme,
                  "value": f["code"]["code"], "meaning": f["code"]["display"]}}
        for f in series["findings"]
    ]  # fmt: skip
    assert ReportContent.model_validate(stored) == content
