"""``acme bench qido``: QIDO-RS study searches over a large index, p50/p95 per kind of query.

On servers of its own (an embedded stack in a temporary folder), the index is filled with
``studies`` synthetic studies (two series and two instances each, patients shared by two
studies, dates over ten years) straight in PostgreSQL: ingest is not what is measured. Then
each kind of search a worklist or OHIF's study list makes is sent ``queries`` times through
the worklist's HTTP API in process (bearer token checked, query validated, SQL, DICOM JSON,
the access record published): everything but the gateway's proxying.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import flask

from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.db import Pool
from acme.function import Context
from acme.http import HttpApi, dispatcher_for
from acme.runtime.stackfile import load_stack
from acme.settings import Settings, load_settings
from acme.stack.stack import EmbeddedStack
from acme.stack.state import URL_FIELDS

QUERIES: Final = {
    "list (OHIF's study list)": "limit=101&offset=0&fuzzymatching=false"
    "&includefield=00081030,00080060,00080090,00100030",
    "patient name wildcard": "PatientName=*SMITH7*&limit=101",
    "study date, one month": "StudyDate=20230301-20230331&limit=101",
    "modality": "ModalitiesInStudy=MR&limit=101",
    "patient ID": "PatientID=P000421",
    "accession number": "AccessionNumber=A0004242",
}

_SEED: Final = (
    "INSERT INTO patients (patient_id, issuer_of_patient_id, patient_name, birth_date, sex)"
    " SELECT 'P' || lpad(n::text, 6, '0'), '', 'SMITH' || (n %% 1000) || '^JANE' || n,"
    " date '1940-01-01' + (n * 37 %% 20000), (ARRAY['M', 'F', 'O'])[1 + n %% 3]"
    " FROM generate_series(1, %(patients)s) n",
    "INSERT INTO studies (study_uid, patient_pk, accession_number, study_date, study_time,"
    " study_description, state)"
    " SELECT '1.2.826.0.1.3680043.8.498.90.' || n, p.id, 'A' || lpad(n::text, 7, '0'),"
    " date '2015-01-01' + (n * 7919 %% 3650), time '08:00' + (n %% 600) * interval '1 minute',"
    " 'STUDY ' || (n %% 50), 'receiving'"
    " FROM generate_series(1, %(studies)s) n"
    " JOIN patients p ON p.patient_id = 'P' || lpad(((n + 1) / 2)::text, 6, '0')",
    "INSERT INTO series (series_uid, study_uid, modality, series_number, instance_count)"
    " SELECT st.study_uid || '.' || k, st.study_uid,"
    " (ARRAY['CR', 'CT', 'MR', 'DX', 'US'])[1 + (regexp_replace(st.study_uid, '.*[.]', '')::int"
    " * 3 + k) % 5], k, 1"
    " FROM studies st, generate_series(1, 2) k",
    "INSERT INTO instances (sop_uid, series_uid, sop_class_uid, instance_number,"
    " transfer_syntax, sha256, size, archive_key)"
    " SELECT s.series_uid || '.1', s.series_uid, '1.2.840.10008.5.1.4.1.1.1', 1,"
    " '1.2.840.10008.1.2.1', repeat('0', 64), 1, 'bench/' || s.series_uid FROM series s",
    "ANALYZE",
)


@dataclass(frozen=True)
class QueryStats:
    query: str
    results: int
    p50_ms: float
    p95_ms: float
    mean_ms: float


def seed(pool: Pool, studies: int) -> float:
    """Fill the index with ``studies`` synthetic studies; the seconds it took."""
    began = time.monotonic()
    counts = {"studies": studies, "patients": (studies + 1) // 2}
    with pool.connection() as conn:
        for statement in _SEED:
            conn.execute(statement, counts if "%(" in statement else None)
    return time.monotonic() - began


def worklist_api(settings: Settings) -> HttpApi:
    """The worklist function's HttpApi, from its folder in the stack file."""
    folder = load_stack(settings.stack_file).source("worklist")
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("worklist_main_bench", folder / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api: HttpApi = module.routes
    return api


def measure(ctx: Context, api: HttpApi, query: str, *, queries: int, warmup: int) -> QueryStats:
    dispatch = dispatcher_for(api, policy_from_settings(ctx.settings))
    token = mint_token(ctx.settings, user="bench", roles=["radiologist"], ttl_seconds=36000)
    app = flask.Flask("bench")
    path = f"/dicomweb/studies?{query}"
    timings: list[float] = []
    results = 0
    for round_ in range(warmup + queries):
        began = time.perf_counter()
        with app.test_request_context(path, headers={"Authorization": f"Bearer {token}"}):
            answer = dispatch(ctx, flask.request)
        elapsed = (time.perf_counter() - began) * 1000.0
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.get_data(as_text=True)}")
        if round_ >= warmup:
            timings.append(elapsed)
            results = len(json.loads(answer.get_data()))
    ordered = sorted(timings)
    return QueryStats(
        query=query,
        results=results,
        p50_ms=round(statistics.median(ordered), 2),
        p95_ms=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        mean_ms=round(statistics.fmean(ordered), 2),
    )


def run_qido_bench(out_dir: Path, *, studies: int, queries: int, warmup: int) -> Path:
    """Run the benchmark on servers of its own; write and return ``out_dir/qido.json``."""
    home = Path(tempfile.mkdtemp(prefix="acme-bench-qido-"))
    try:
        stack = EmbeddedStack(load_settings(home=home, gateway_port=0))
        stack.start()
        try:
            assert stack.state is not None
            urls = {URL_FIELDS[n]: s.url for n, s in stack.state.servers.items()}
            settings = stack.settings.model_copy(update=urls)
            report = _bench(settings, studies=studies, queries=queries, warmup=warmup)
        finally:
            stack.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "qido.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def _bench(settings: Settings, *, studies: int, queries: int, warmup: int) -> dict[str, Any]:
    ensure_local_key(settings)
    ctx = Context.open("worklist", settings)
    try:
        seconds = seed(ctx.db, studies)
        api = worklist_api(settings)
        stats = {
            name: asdict(measure(ctx, api, query, queries=queries, warmup=warmup))
            for name, query in QUERIES.items()
        }
    finally:
        ctx.close()
    every = [s["p50_ms"] for s in stats.values()]
    return {
        "benchmark": "qido-studies",
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "studies": studies,
        "seed_seconds": round(seconds, 1),
        "queries_per_kind": queries,
        "results": stats,
        "median_of_p50_ms": round(statistics.median(every), 2),
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
