"""Migration 0007 on a database where every study without a Patient ID shared one record."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from acme.db import apply_migrations, make_pool
from acme.settings import Settings

STUDIES = ("1.2.826.0.1.3680043.8.498.11", "1.2.826.0.1.3680043.8.498.12")
KNOWN = "1.2.826.0.1.3680043.8.498.13"


def test_each_study_that_shared_the_unknown_patient_gets_a_record_of_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    source = Path(str(resources.files("acme.db") / "migrations"))
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in sorted(source.glob("*.sql")):
        if path.name < "0007":
            shutil.copy(path, folder / path.name)
    with make_pool(settings) as pool:
        apply_migrations(pool, directory=folder)
        with pool.connection() as conn:
            [(shared,)] = conn.execute(
                "INSERT INTO patients (patient_id, patient_name) VALUES ('', 'Latest^Upload')"
                " RETURNING id"
            ).fetchall()
            [(known,)] = conn.execute(
                "INSERT INTO patients (patient_id, issuer_of_patient_id, patient_name)"
                " VALUES ('MRN-1', 'ACME', 'Known^Kate') RETURNING id"
            ).fetchall()
            for study in STUDIES:
                conn.execute(
                    "INSERT INTO studies (study_uid, patient_pk) VALUES (%s, %s)", (study, shared)
                )
            conn.execute(
                "INSERT INTO studies (study_uid, patient_pk) VALUES (%s, %s)", (KNOWN, known)
            )

        shutil.copy(source / "0007_patients.sql", folder / "0007_patients.sql")
        assert apply_migrations(pool, directory=folder) == ["0007_patients.sql"]

        with pool.connection() as conn:
            owned = conn.execute(
                "SELECT s.study_uid, p.id, p.patient_id, p.patient_name FROM studies s"
                " JOIN patients p ON p.id = s.patient_pk ORDER BY s.study_uid"
            ).fetchall()
            gone = conn.execute("SELECT 1 FROM patients WHERE id = %s", (shared,)).fetchall()
            conn.execute("INSERT INTO patients (patient_id) VALUES (''), ('')")  # no longer unique
    [first, second, third] = owned
    assert first[1] != second[1] and shared not in (first[1], second[1]) and gone == []
    assert [row[2:] for row in (first, second)] == [("", None), ("", None)]
    assert third == (KNOWN, known, "MRN-1", "Known^Kate")
