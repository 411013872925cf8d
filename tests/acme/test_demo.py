"""``acme demo``'s tables: every line fits 120 columns when the output is not a terminal."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import Connection

from acme import ledger
from acme.db import apply_migrations, make_pool
from acme.demo import (
    DEMO_WIDTH,
    demo_console,
    print_quarantine,
    print_studies,
    quarantine_reasons,
)
from acme.events import Finding, InstanceRejected
from acme.lifecycle import StudyState
from acme.models import CHESTX_RAY14
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.settings import Settings
from acme.storage import ObjectInfo
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


def _settle(conn: Connection, key: str, outcome: str, entry: InstanceRejected) -> None:
    info = ObjectInfo(
        bucket=entry.bucket, key=key, size=7, etag=key, last_modified=entry.rejected_at
    )
    ledger.record(conn, info, outcome, quarantine_key=entry.quarantine_key)  # type: ignore[arg-type]


def test_a_bad_file_sent_again_by_a_second_demo_is_counted_with_its_first_reason(
    settings: Settings,
) -> None:
    pool = make_pool(settings, application_name="test")
    apply_migrations(pool)
    bucket, when = settings.buckets.inbox, datetime.now(UTC)
    entry = InstanceRejected(
        bucket=bucket, key="first/bad/not-dicom.txt", reason_code="not-dicom",
        detail="no DICOM preamble", quarantine_bucket=settings.buckets.quarantine,
        quarantine_key=f"not-dicom/{uuid.uuid4().hex}", rejected_at=when,
    )  # fmt: skip
    try:
        with pool.connection() as conn:
            ledger.insert_quarantine_entry(conn, entry)
            _settle(conn, "first/bad/not-dicom.txt", "quarantined", entry)
            _settle(conn, "second/bad/not-dicom.txt", "duplicate", entry)  # the same bytes
        paths = ["bad/not-dicom.txt", "bad/empty.dcm"]
        assert quarantine_reasons(pool, bucket, "first", paths) == {
            "bad/not-dicom.txt": "not-dicom"
        }
        assert quarantine_reasons(pool, bucket, "second", paths) == {
            "bad/not-dicom.txt": "not-dicom"
        }, "the duplicate of a quarantined file counts with the entry it repeats"
        assert quarantine_reasons(pool, bucket, "third", paths) == {}
    finally:
        pool.close()
