"""Indexing on the real servers: patients are never merged, late instances reopen series."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path
from typing import Any

from dbrows import rows, study_state
from dicom_ingest.completion import complete_series
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import RoutingConfig
from jetstream import published
from pydicom import dcmread
from pydicom.uid import generate_uid

from acme.events import EventType
from acme.function import Context
from acme.lifecycle import Step, advance
from acme.samples import SampleManifest
from acme.studies import study_summaries

ROUTING = RoutingConfig.model_validate(
    {
        "stable_age_seconds": {"default": 0.001},
        "default_pipeline": "none",
        "rules": [
            {"name": "radiograph", "pipeline": "cxr", "when": [{"tag": "Modality", "op": "in",
                                                                "value": ["CR", "DX"]}]}
        ],
    }
)  # fmt: skip


def _radiograph(samples: tuple[Path, SampleManifest]) -> Path:
    folder, manifest = samples
    return folder / next(e for e in manifest.good() if e.modality in ("CR", "DX")).path


def _send(ctx: Context, source: Path, name: str, **attributes: Any) -> tuple[str, str, str]:
    """Ingest a copy of ``source`` with its own study, series and instance UIDs unless given,
    and ``attributes`` set; (study, series, SOP) UIDs."""
    ds = dcmread(source)
    ds.StudyInstanceUID = attributes.pop("StudyInstanceUID", None) or generate_uid()
    ds.SeriesInstanceUID = attributes.pop("SeriesInstanceUID", None) or generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    out = BytesIO()
    ds.save_as(out)
    ctx.store.put(ctx.settings.buckets.inbox, name, out.getvalue())
    assert ingest_object(ctx, ctx.settings.buckets.inbox, name, None) == "stored"
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _patient_of(ctx: Context, study_uid: str) -> tuple[Any, ...]:
    [row] = rows(
        ctx,
        "SELECT p.id, p.patient_id, p.patient_name, p.birth_date, p.sex FROM studies s"
        " JOIN patients p ON p.id = s.patient_pk WHERE s.study_uid = %s",
        study_uid,
    )
    return row


def test_studies_without_a_patient_id_each_keep_a_patient_record_of_their_own(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    film = _radiograph(samples)
    first, _, _ = _send(ctx, film, "a.dcm", PatientID="", PatientName="Alpha^Anna",
                        PatientBirthDate="19500101", PatientSex="F")  # fmt: skip
    second, _, _ = _send(ctx, film, "b.dcm", PatientID="", PatientName="Beta^Bert",
                         PatientBirthDate="19600202", PatientSex="M")  # fmt: skip

    one, two = _patient_of(ctx, first), _patient_of(ctx, second)
    assert one[0] != two[0]
    assert one[1:3] == ("", "Alpha^Anna") and two[1:3] == ("", "Beta^Bert")
    assert (str(one[3]), one[4], str(two[3]), two[4]) == ("1950-01-01", "F", "1960-02-02", "M")
    assert rows(ctx, "SELECT 1 FROM patient_conflicts") == []


def test_one_patient_id_with_another_name_is_a_conflict_never_an_overwrite(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    film = _radiograph(samples)
    first, _, _ = _send(
        ctx,
        film,
        "a.dcm",
        PatientID="MRN-7",
        IssuerOfPatientID="ACME",
        PatientName="Alpha^Anna",
        PatientBirthDate="19500101",
        PatientSex="F",
    )
    second, _, sop = _send(ctx, film, "b.dcm", PatientID="MRN-7", IssuerOfPatientID="ACME",
                           PatientName="ALPHA^ANNA^^", PatientBirthDate="19511111",
                           PatientSex="F")  # fmt: skip
    third, _, _ = _send(ctx, film, "c.dcm", PatientID="MRN-7", IssuerOfPatientID="OTHER",
                        PatientName="Gamma^Gus")  # fmt: skip

    assert _patient_of(ctx, first)[0] == _patient_of(ctx, second)[0] != _patient_of(ctx, third)[0]
    assert _patient_of(ctx, second)[2:4] == ("Alpha^Anna", _patient_of(ctx, first)[3])
    # the name differs only in case and empty components: the same name
    assert rows(
        ctx, "SELECT study_uid, sop_uid, attribute, recorded, received FROM patient_conflicts"
    ) == [(second, sop, "birth_date", "1950-01-01", "1951-11-11")]
    summaries = study_summaries(ctx.db, [first, second, third])
    assert (
        summaries[first].patient_conflicts == summaries[second].patient_conflicts == ["birth_date"]
    )
    assert summaries[third].patient_conflicts == []


def test_a_record_is_completed_by_later_instances_but_not_changed(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    film = _radiograph(samples)
    study, series, _ = _send(ctx, film, "a.dcm", PatientID="", PatientName="",
                             PatientSex="")  # fmt: skip
    _send(ctx, film, "b.dcm", StudyInstanceUID=study, SeriesInstanceUID=series, PatientID="",
          PatientName="Delta^Dora", PatientSex="F")  # fmt: skip
    _send(ctx, film, "c.dcm", StudyInstanceUID=study, SeriesInstanceUID=series, PatientID="",
          PatientName="Epsilon^Eve", PatientSex="F")  # fmt: skip
    patient = _patient_of(ctx, study)
    assert (patient[2], patient[4]) == ("Delta^Dora", "F")
    assert rows(ctx, "SELECT attribute, recorded, received FROM patient_conflicts") == [
        ("name", "Delta^Dora", "Epsilon^Eve")
    ]


def test_a_late_instance_reopens_its_series_and_the_study_and_is_announced_once(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    film = _radiograph(samples)
    study, series, _ = _send(ctx, film, "a.dcm")
    time.sleep(0.01)
    [first] = complete_series(ctx, ROUTING, None)
    with ctx.db.connection() as conn:  # as far as the study went: reported
        for step in (Step.INFERENCE_STARTED, Step.INFERENCE_DONE, Step.REPORT_DRAFTED):
            assert advance(conn, study, step)

    _, _, late = _send(ctx, film, "b.dcm", StudyInstanceUID=study, SeriesInstanceUID=series)
    assert study_state(ctx, study) == ("receiving", None)
    assert rows(ctx, "SELECT completed_at, instance_count FROM series") == [(None, 2)]
    _send(ctx, film, "c.dcm", StudyInstanceUID=study, SeriesInstanceUID=series)
    time.sleep(0.01)

    [second] = complete_series(ctx, ROUTING, None)
    assert complete_series(ctx, ROUTING, None) == []
    assert (first.completion, second.completion, second.instance_count) == (1, 2, 3)
    assert study_state(ctx, study) == ("complete", None)
    [reopened] = published(ctx.settings, EventType.SERIES_REOPENED)
    assert reopened.data["sop_uid"] == late and reopened.data["completion"] == 1
    assert reopened["subject"] == f"studies/{study}/series/{series}/instances/{late}"
    completed = published(ctx.settings, EventType.SERIES_COMPLETED)
    assert [e.data["completion"] for e in completed] == [1, 2]
    assert len({e["id"] for e in completed}) == 2


def test_a_late_instance_of_a_series_no_model_reads_leaves_the_study_alone(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    film = _radiograph(samples)
    study, series, _ = _send(ctx, film, "a.dcm", Modality="OT")
    time.sleep(0.01)
    [done] = complete_series(ctx, ROUTING, None)
    assert done.pipeline == "none" and study_state(ctx, study) == ("complete", None)
    _send(ctx, film, "b.dcm", StudyInstanceUID=study, SeriesInstanceUID=series, Modality="OT")
    assert study_state(ctx, study) == ("complete", None)
    time.sleep(0.01)
    [again] = complete_series(ctx, ROUTING, None)
    assert again.completion == 2 and study_state(ctx, study) == ("complete", None)
    assert len(published(ctx.settings, EventType.SERIES_REOPENED)) == 1
