"""``acme wait`` against a real database."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from stackprocs import clean_env, run_acme

from acme.cli.study_commands import _study_table
from acme.db import apply_migrations, make_pool
from acme.lifecycle import TRANSITIONS, Step, StudyState, advance
from acme.settings import Settings
from acme.studies import SeriesState, StudySummary

STUDY = "1.2.826.0.1.3680043.8.498.77"
SERIES = "1.2.826.0.1.3680043.8.498.78"


def _env(settings: Settings, home: Path) -> dict[str, str]:
    assert settings.database_url
    return clean_env(ACME_HOME=str(home), ACME_DATABASE_URL=settings.database_url)


def _study(settings: Settings, *steps: Step, reason: str | None = None) -> None:
    """The study, created on first use, moved by ``steps`` as the functions would move it."""
    pool = make_pool(settings)
    apply_migrations(pool)
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO studies (study_uid) VALUES (%s) ON CONFLICT (study_uid) DO NOTHING",
            (STUDY,),
        )
        conn.execute(
            "INSERT INTO series (series_uid, study_uid, modality) VALUES (%s, %s, 'CR')"
            " ON CONFLICT DO NOTHING",
            (SERIES, STUDY),
        )
        for step in steps:
            failing = TRANSITIONS[step].target is StudyState.FAILED
            assert advance(conn, STUDY, step, reason=reason if failing else None)
    pool.close()


def test_wait_until_a_state_or_time_out(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path)
    _study(settings)
    late = run_acme("wait", STUDY, "--state", "complete", "--timeout", "1", env=env)
    assert late.returncode == 1 and "still receiving" in late.stderr

    _study(settings, Step.SERIES_COMPLETED, Step.INFERENCE_STARTED, Step.INFERENCE_DONE)
    done = run_acme("wait", STUDY, "--state", "complete", "--timeout", "5", env=env)
    assert done.returncode == 0 and f"{STUDY}: inferred" in done.stdout


def test_wait_stops_at_failure(settings: Settings, tmp_path: Path) -> None:
    _study(settings, Step.SERIES_COMPLETED, Step.INFERENCE_FAILED, reason="no-usable-images")
    failed = run_acme(
        "wait", STUDY, "--state", "reported", "--timeout", "5", env=_env(settings, tmp_path)
    )
    assert failed.returncode == 1 and "no-usable-images" in failed.stderr


def test_status_of_a_study(settings: Settings, tmp_path: Path) -> None:
    import json

    env = _env(settings, tmp_path)
    _study(settings, Step.SERIES_COMPLETED)
    shown = run_acme("status", STUDY, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["state"] == "complete" and summary["modalities"] == ["CR"]
    unknown = run_acme("status", "1.2.3.4", env=env)
    assert unknown.returncode == 1 and "no study 1.2.3.4" in unknown.stderr


def test_the_study_view_names_series_without_results_and_patient_conflicts() -> None:
    summary = StudySummary(
        study_uid=STUDY, state=StudyState.INFERRING, failure_reason=None, modalities=["CR", "CT"],
        pipelines=["cxr", "ct"], series=2, instances=3, findings=[],
        without_results=[
            SeriesState(series_uid=SERIES, modality="CT", pipeline="ct", outcome="pending"),
            SeriesState(series_uid="1.2.3", modality="CR", pipeline="cxr", outcome="failed",
                        reason="decode-failed"),
        ],
        patient_conflicts=["name", "birth_date"], model=None, device=None, report_id=None,
        report_status=None, received_at=None, completed_at=None, inferred_at=None,
        reported_at=None,
    )  # fmt: skip
    console = Console(width=200, record=True)
    console.print(_study_table(summary))
    text = console.export_text()
    assert f"series {SERIES} │ CT (ct): pending" in text
    assert "series 1.2.3" in text and "CR (cxr): inference failed (decode-failed)" in text
    assert "conflicting name, birth date between images: verify identity" in text
