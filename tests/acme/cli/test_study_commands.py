"""``acme wait`` against a real database."""

from __future__ import annotations

from pathlib import Path

import psycopg
from stackprocs import clean_env, run_acme

from acme.db import apply_migrations, make_pool
from acme.settings import Settings

STUDY = "1.2.826.0.1.3680043.8.498.77"
SERIES = "1.2.826.0.1.3680043.8.498.78"


def _env(settings: Settings, home: Path) -> dict[str, str]:
    assert settings.database_url
    return clean_env(ACME_HOME=str(home), ACME_DATABASE_URL=settings.database_url)


def _study(settings: Settings, state: str) -> None:
    pool = make_pool(settings)
    apply_migrations(pool)
    pool.close()
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO studies (study_uid, state) VALUES (%s, %s)"
            " ON CONFLICT (study_uid) DO UPDATE SET state = EXCLUDED.state",
            (STUDY, state),
        )
        conn.execute(
            "INSERT INTO series (series_uid, study_uid, modality) VALUES (%s, %s, 'CR')"
            " ON CONFLICT DO NOTHING",
            (SERIES, STUDY),
        )


def test_wait_until_a_state_or_time_out(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path)
    _study(settings, "receiving")
    late = run_acme("wait", STUDY, "--state", "complete", "--timeout", "1", env=env)
    assert late.returncode == 1 and "still receiving" in late.stderr

    _study(settings, "inferred")
    done = run_acme("wait", STUDY, "--state", "complete", "--timeout", "5", env=env)
    assert done.returncode == 0 and f"{STUDY}: inferred" in done.stdout


def test_wait_stops_at_failure(settings: Settings, tmp_path: Path) -> None:
    _study(settings, "receiving")
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE studies SET state = 'failed', failure_reason = 'no-usable-images'"
            " WHERE study_uid = %s",
            (STUDY,),
        )
    failed = run_acme(
        "wait", STUDY, "--state", "reported", "--timeout", "5", env=_env(settings, tmp_path)
    )
    assert failed.returncode == 1 and "no-usable-images" in failed.stderr


def test_status_of_a_study(settings: Settings, tmp_path: Path) -> None:
    import json

    env = _env(settings, tmp_path)
    _study(settings, "complete")
    shown = run_acme("status", STUDY, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["state"] == "complete" and summary["modalities"] == ["CR"]
    unknown = run_acme("status", "1.2.3.4", env=env)
    assert unknown.returncode == 1 and "no study 1.2.3.4" in unknown.stderr
