"""``acme demo``'s tables: every line fits 120 columns when the output is not a terminal."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from acme.demo import DEMO_WIDTH, demo_console, print_quarantine, print_studies
from acme.events import Finding
from acme.lifecycle import StudyState
from acme.models import CHESTX_RAY14
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.studies import SeriesState, StudySummary


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    return write_samples(tmp_path_factory.mktemp("demo"), ct_slices=MIN_CT_SLICES)


def _summary(uid: str, modality: str, index: int) -> StudySummary:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return StudySummary(
        study_uid=uid, state=StudyState.REPORTED if index % 2 else StudyState.INFERRING,
        failure_reason=None, modalities=[modality, "SR"], pipelines=["cxr", "ct"], series=2,
        instances=120, findings=[
            Finding(label=label, probability=0.5 + i / 40, threshold=0.5, positive=True)
            for i, label in enumerate(CHESTX_RAY14)
        ],
        without_results=[SeriesState(series_uid="1.2.3.4.5.6.7.8.9", modality="CT",
                                     pipeline="ct", outcome="pending")],
        patient_conflicts=[], model="cxr-densenet121-synthetic 1.0.0", device="cpu",
        report_id=str(uuid.UUID(int=index)), report_status="preliminary", received_at=start,
        completed_at=start + timedelta(seconds=12.3), inferred_at=start + timedelta(seconds=20),
        reported_at=start + timedelta(seconds=21.5),
    )  # fmt: skip


def test_the_tables_fit_120_columns_and_report_links_stay_whole(
    manifest: SampleManifest,
) -> None:
    studies = {
        s.study_uid: _summary(s.study_uid, s.modality, i) for i, s in enumerate(manifest.studies)
    }
    targets = {uid: "reported" for uid in studies}
    out = io.StringIO()
    console = demo_console(out)
    assert console.width == DEMO_WIDTH == 120
    print_quarantine(manifest, {}, console)
    print_studies(manifest, studies, targets, console)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 120, max(lines, key=len)
    rows = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert rows and all(line[-1] in "┓┃┩│┘" for line in rows), "a table was cut off"
    for summary in studies.values():
        link = f"/function/report/reports/{summary.report_id}"
        assert sum(link in line for line in lines) == 1, link
    text = out.getvalue()
    assert all(word in text for word in ("inferring", "Hernia 0.82+", "pending", "- (real film)"))


def test_a_terminal_keeps_its_own_width() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert demo_console(Terminal()).width != 220
