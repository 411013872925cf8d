"""Report content: the one model every form renders; its JSON round-trips, its hash is stable."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import ValidationError
from report.content import ReportContent
from report.draft import ai_impression

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
    text = ai_impression(list(content.findings), list(content.models))
    assert text.splitlines() == [
        "AI suggests: Lung Opacity (91.0 %)",
        "Below threshold: Pleural Effusion.",
        "Preliminary draft by cxr-synthetic 1.0.0. NOT FOR DIAGNOSTIC USE. To be reviewed and "
        "signed by a radiologist.",
    ]
