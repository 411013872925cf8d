"""One round of a fault suite: 300 instances sent while something breaks, then checked.

A round is four single-image chest radiograph studies (CR, routed to infer-cxr) and two CT
series of 148 slices (each its own study, routed to infer-ct): 300 instances in six studies,
every one of which must reach ``reported``. The radiographs are spread through the upload, so
that each completes, is scored and reported while the CT slices are still arriving.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acme_platform import wait_until
from dicomfiles import fresh_cxr, write
from fault_platform import FaultPlatform
from instances import write_series
from pydicom import dcmread

from acme.db import Pool, make_pool
from acme.inbox import send_files
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client

CXR_STUDIES = 4
CT_SERIES = 2
CT_SLICES = 148
INSTANCES = CXR_STUDIES + CT_SERIES * CT_SLICES
STORED = "org.acme.imaging.instance.stored"
COMPLETED = "org.acme.imaging.series.completed"
DRAFTED = "org.acme.imaging.report.drafted"
TICK = "org.acme.imaging.tick"
REJECTED = "org.acme.imaging.instance.rejected"


@dataclass
class Round:
    """What one round sends: the files, and per series its study and instance count."""

    name: str
    files: list[tuple[Path, Path]]
    series: dict[str, tuple[str, int]]
    cxr_series: set[str]
    bad: int = 0
    """How many of ``files`` (under ``<name>/bad/``) are malformed."""
    seconds: dict[str, float] = field(default_factory=dict)
    dimse: bool = False
    """Sent by a modality to the DICOM receiver, not uploaded to the inbox."""

    @property
    def keys(self) -> str:
        """What the round's inbox keys start with: ``<name>/`` when it is uploaded, the
        receiver's ``dimse/`` when a modality sends it."""
        return "dimse/" if self.dimse else f"{self.name}/"

    @property
    def studies(self) -> set[str]:
        return {study for study, _count in self.series.values()}


def write_round(folder: Path, name: str) -> Round:
    """Write a round's files under ``folder``; their keys start with ``name/``."""
    cts = [write_series(folder / f"ct{n}", CT_SLICES) for n in range(CT_SERIES)]
    radiographs = []
    series: dict[str, tuple[str, int]] = {s: (study, len(paths)) for study, s, paths in cts}
    for n in range(CXR_STUDIES):
        ds = fresh_cxr()
        small = ds.pixel_array[::4, ::4].copy()  # a smaller film: quicker to send and score
        ds.Rows, ds.Columns = small.shape
        ds.PixelData = small.tobytes()
        radiographs.append(write(ds, folder / f"cxr{n}.dcm"))
        series[ds.SeriesInstanceUID] = (ds.StudyInstanceUID, 1)
    slices = [path for group in zip(*(paths for _s, _r, paths in cts), strict=True)
              for path in group]  # fmt: skip
    every = len(slices) // CXR_STUDIES
    ordered: list[Path] = []
    for n, path in enumerate(slices):
        if n % every == 0 and n // every < CXR_STUDIES:
            ordered.append(radiographs[n // every])
        ordered.append(path)
    files = [(path, path.relative_to(folder)) for path in ordered]
    cxr = {uid for uid, (_study, count) in series.items() if count == 1}
    return Round(name, files, series, cxr)


def with_malformed(rnd: Round, folder: Path, count: int) -> Round:
    """``rnd`` with ``count`` malformed objects of four kinds, all different, shuffled in:
    random bytes, a DICOM preamble and magic over garbage, DICOM without a SOP Instance UID,
    and CT slices cut short in their pixel data."""
    bad = folder / "bad"
    bad.mkdir(parents=True)
    rng = random.Random(count)
    quarter = count // 4
    made = [bad / f"noise-{n:04d}.dcm" for n in range(quarter)]
    for path in made:
        path.write_bytes(rng.randbytes(rng.randrange(16, 4096)))
    for n in range(quarter):
        path = bad / f"magic-{n:04d}.dcm"
        path.write_bytes(bytes(128) + b"DICM" + rng.randbytes(rng.randrange(16, 2048)))
        made.append(path)
    _study, _series, no_uid = write_series(bad / "no-uid", quarter, size=16)
    for path in no_uid:
        ds = dcmread(path)
        del ds.SOPInstanceUID
        ds.save_as(path)
    made += no_uid
    _study, _series, cut = write_series(bad / "cut", count - 3 * quarter, size=32)
    for path in cut:
        path.write_bytes(path.read_bytes()[:-700])
    made += cut
    files = rnd.files + [(path, Path("bad") / path.relative_to(bad)) for path in made]
    rng.shuffle(files)
    return Round(rnd.name, files, rnd.series, rnd.cxr_series, bad=len(made))


def send_until_accepted(settings: Settings, rnd: Round, limit: float = 240) -> None:
    """Send like a modality does: what the store refused is sent again until it is accepted."""
    store = S3ObjectStore(make_s3_client(settings))
    pending = rnd.files
    deadline = time.monotonic() + limit
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} files never accepted"
        report = send_files(store, settings.buckets.inbox, pending, prefix=rnd.name)
        failed = {path for path, _reason in report.failed}
        pending = [item for item in pending if item[0] in failed]
        if pending:
            time.sleep(1.0)


class InBackground:
    """``send()`` on its own thread, started by ``with``; what it raised, ``__exit__`` raises
    on the test's thread."""

    def __init__(self, send: Callable[[], None]) -> None:
        self._send = send
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._send()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread by __exit__
            self._error = exc

    def __enter__(self) -> InBackground:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join(300)
        assert not self._thread.is_alive(), "the sender never finished"
        if self._error is not None:
            raise self._error


def count(pool: Pool, sql: str, *params: object) -> int:
    with pool.connection() as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def rows(pool: Pool, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with pool.connection() as conn:
        return conn.execute(sql, params).fetchall()


def indexed(pool: Pool, rnd: Round) -> int:
    sql = "SELECT count(*) FROM instances WHERE series_uid = ANY(%s)"
    return count(pool, sql, list(rnd.series))


def run_round(
    platform: FaultPlatform,
    folder: Path,
    name: str,
    fault: Callable[[Round, Pool], None],
    *,
    malformed: int = 0,
    by_dimse: Callable[[Round], None] | None = None,
) -> Round:
    """Send a round (with ``malformed`` bad objects) while ``fault(round, pool)`` breaks
    something; wait for the outcome and check it (:func:`check_round`). The round's
    ``seconds`` say how long each part took. The round is uploaded to the inbox, or sent
    by ``by_dimse(round)`` (a modality, on its own thread) to the DICOM receiver."""
    rnd = write_round(folder, name)
    if malformed:
        rnd = with_malformed(rnd, folder, malformed)
    rnd.dimse = by_dimse is not None
    settings = platform.settings
    assert settings is not None
    began = time.monotonic()
    pool = make_pool(settings, application_name="fault-suite")

    def send() -> None:
        return send_until_accepted(settings, rnd) if by_dimse is None else by_dimse(rnd)

    try:
        with InBackground(send):
            fault(rnd, pool)
        rnd.seconds["sent"] = time.monotonic() - began
    finally:
        pool.close()
    check_round(platform, rnd)
    rnd.seconds["total"] = time.monotonic() - began
    print(f"\n{name}: " + ", ".join(f"{k} {v:.1f}s" for k, v in rnd.seconds.items()))
    return rnd


def check_round(platform: FaultPlatform, rnd: Round, limit: float = 240) -> None:
    """Every study reported, no row twice, the audit trail intact, the inbox empty."""
    settings = platform.settings  # acme up may have been started again: its servers moved
    assert settings is not None
    pool = make_pool(settings, application_name="fault-suite")
    store = S3ObjectStore(make_s3_client(settings))
    studies = sorted(rnd.studies)
    began = time.monotonic()
    try:
        reported = "SELECT count(*) FROM studies WHERE study_uid = ANY(%s) AND state = 'reported'"
        try:
            wait_until(lambda: count(pool, reported, studies) == len(studies), limit,
                       f"the {len(studies)} studies of {rnd.name} reported")  # fmt: skip
        except AssertionError as exc:
            states = rows(pool, "SELECT study_uid, state::text, failure_reason FROM studies"
                                " WHERE study_uid = ANY(%s)", studies)  # fmt: skip
            raise AssertionError(f"{exc}: {indexed_rows(pool, rnd)}, {states}") from None
        rnd.seconds["reported"] = time.monotonic() - began
        wait_until(lambda: not list(store.list(settings.buckets.inbox, rnd.keys)), 120,
                   f"the inbox of {rnd.name} empty")  # fmt: skip
        rnd.seconds["inbox empty"] = time.monotonic() - began
        _check_rows(pool, store, settings, rnd)
    finally:
        pool.close()
    verified = platform.acme("audit", "verify")
    assert verified.exit_code == 0, verified.output
    rnd.seconds["verified"] = time.monotonic() - began
    listed = platform.acme("dlq", "list", "--json")
    assert listed.exit_code == 0, listed.output
    # a tick has no retry: one that met an outage is dead-lettered, and the next one does its
    # work; any other dead letter is an event the platform gave up on
    given_up = [row for row in json.loads(listed.output) if row["type"] != TICK]
    assert given_up == [], given_up


def indexed_rows(pool: Pool, rnd: Round) -> list[tuple[Any, ...]]:
    return rows(pool, "SELECT series_uid, instance_count, completions FROM series"
                      " WHERE series_uid = ANY(%s)", list(rnd.series))  # fmt: skip


def _check_rows(pool: Pool, store: S3ObjectStore, settings: Settings, rnd: Round) -> None:
    studies = sorted(rnd.studies)
    by_series = {uid: (n, c) for uid, n, c in indexed_rows(pool, rnd)}
    expected = {uid: (n, 1) for uid, (_study, n) in rnd.series.items()}
    assert by_series == expected, "each instance counted once, each series completed once"
    assert indexed(pool, rnd) == INSTANCES
    archived = [o for s in studies for o in store.list(settings.buckets.archive, f"studies/{s}/")]
    assert len(archived) == INSTANCES, "one archive object per instance"
    ledger = "SELECT count(*) FROM inbox_ledger WHERE key LIKE %s AND outcome = 'archived'"
    assert count(pool, ledger, f"{rnd.keys}%") == INSTANCES, "each instance archived once"
    runs = rows(pool, "SELECT series_uid, count(*) FROM inference_runs"
                      " WHERE series_uid = ANY(%s) GROUP BY 1", list(rnd.series))  # fmt: skip
    assert dict(runs) == dict.fromkeys(rnd.series, 1), "one inference run per series"
    versions = rows(pool, "SELECT r.study_uid, count(*) FROM reports r JOIN report_versions v"
                          " ON v.report_id = r.id WHERE r.study_uid = ANY(%s) GROUP BY 1",
                    studies)  # fmt: skip
    assert dict(versions) == dict.fromkeys(studies, 1), "one report version per study"

    # the trail is written by audit-events from the stream, a little behind: wait for it (an
    # event recorded twice would never match, event ids being unique)
    def audited() -> dict[str, int]:
        return dict(rows(pool, "SELECT event_type, count(*) FROM audit_events"
                               " WHERE study_uid = ANY(%s) AND event_type = ANY(%s) GROUP BY 1",
                         studies, [STORED, COMPLETED, DRAFTED]))  # fmt: skip

    expected_audit = {STORED: INSTANCES, COMPLETED: len(rnd.series), DRAFTED: len(studies)}
    try:
        wait_until(lambda: audited() == expected_audit, 120, "the round's events audited")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {audited()} != {expected_audit}") from None
    # a sender may send again what it could not see accepted: a repeat is one more ledger
    # entry (a duplicate of the first), never a second quarantine entry
    bad = f"{rnd.name}/bad/%"
    ledger_bad = "SELECT count(DISTINCT key) FROM inbox_ledger WHERE key LIKE %s"
    assert count(pool, ledger_bad + " AND outcome = 'quarantined'", bad) == rnd.bad
    assert count(pool, ledger_bad + " AND outcome = 'archived'", bad) == 0
    entries = "SELECT count(*) FROM quarantine_entries WHERE source_key LIKE %s"
    assert count(pool, entries, bad) == rnd.bad, "one quarantine entry per bad object"
    rejected = ("SELECT count(*) FROM audit_events WHERE event_type = %s"
                " AND payload->'data'->>'key' LIKE %s")  # fmt: skip
    wait_until(lambda: count(pool, rejected, REJECTED, bad) == rnd.bad, 120,
               "every rejection audited once")  # fmt: skip
