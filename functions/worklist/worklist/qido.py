"""QIDO-RS (PS3.18 10.6): search for studies, series and instances in the index.

Matching keys are the attributes of :class:`StudyKeys`, :class:`SeriesKeys` and
:class:`InstanceKeys`, by keyword or by tag (``PatientID`` or ``00100020``); an unknown key is
a 400 naming it. ``includefield`` takes keywords, tags or ``all`` (repeated or
comma-separated); every attribute the index holds is returned in any case. Results are
``application/dicom+json``, ordered (studies newest first), ``limit`` (at most 1000) and
``offset`` page them.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from psycopg.rows import dict_row
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from acme.db import Pool
from worklist.dicomjson import Json, dataset, tag_of
from worklist.links import instance_url, series_url, study_url
from worklist.matching import Conditions

MAX_LIMIT: Final = 1000
_FIELD = r"(all|[0-9A-Fa-f]{8}|[A-Za-z][A-Za-z0-9]{0,63})"
_UIDS = r"^[0-9.]{1,64}([\\,][0-9.]{1,64}){0,99}$"
_CODES = r"^[A-Z0-9_ ]{1,16}([\\,][A-Z0-9_ ]{1,16}){0,15}$"
_DATES = r"^([0-9]{8}|[0-9]{8}-|-[0-9]{8}|[0-9]{8}-[0-9]{8})$"
_TEXT = r"^[^\\\x00-\x1f\x7f]*$"


def _key(keyword: str, description: str, **constraints: Any) -> Any:
    return Field(
        default=None,
        validation_alias=AliasChoices(keyword, tag_of(keyword)),
        description=f"{description} ({keyword} or its tag {tag_of(keyword)}).",
        **constraints,
    )


Text = Annotated[str | None, Field(pattern=_TEXT)]


class QidoParams(BaseModel):
    """What every QIDO-RS search takes besides its matching keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(default=100, ge=0, le=MAX_LIMIT, description="Most results answered.")
    offset: int = Field(default=0, ge=0, le=10_000_000, description="Results skipped first.")
    includefield: list[Annotated[str, Field(pattern=f"^{_FIELD}(,{_FIELD}){{0,99}}$")]] = Field(
        default_factory=list,
        description="Attributes to include: keywords, tags or all (repeated or comma-separated).",
    )
    fuzzymatching: bool = Field(
        default=False, description="Match person names by any part, ignoring case."
    )


class StudyKeys(QidoParams):
    """Study-level matching keys (``/studies``, and above series and instances)."""

    patient_id: Text = _key("PatientID", "Patient ID, with * and ? wildcards", max_length=64)
    patient_name: Text = _key(
        "PatientName", "Patient name (Family^Given), with wildcards; case ignored", max_length=320
    )
    study_date: str | None = _key(
        "StudyDate", "YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either end open)", pattern=_DATES
    )
    accession_number: Text = _key("AccessionNumber", "Accession number, wildcards", max_length=64)
    study_uid: str | None = _key(
        "StudyInstanceUID", "One UID or a list separated by \\ or ,", pattern=_UIDS
    )
    modalities: str | None = _key(
        "ModalitiesInStudy", "A modality of any series (or a list)", pattern=_CODES
    )
    study_description: Text = _key(
        "StudyDescription", "Study description, wildcards", max_length=64
    )
    referring: Text = _key(
        "ReferringPhysicianName", "Referring physician, wildcards; case ignored", max_length=320
    )


class SeriesKeys(StudyKeys):
    """Series-level matching keys (``/series``, ``/studies/{study}/series``)."""

    series_uid: str | None = _key("SeriesInstanceUID", "One UID or a list", pattern=_UIDS)
    modality: str | None = _key("Modality", "The series' modality (or a list)", pattern=_CODES)
    series_number: int | None = _key("SeriesNumber", "Series number", ge=-(2**31), lt=2**31)
    series_description: Text = _key(
        "SeriesDescription", "Series description, wildcards", max_length=64
    )
    body_part: str | None = _key("BodyPartExamined", "Body part (or a list)", pattern=_CODES)


class InstanceKeys(SeriesKeys):
    """Instance-level matching keys (``/instances`` and below a study or series)."""

    sop_uid: str | None = _key("SOPInstanceUID", "One UID or a list", pattern=_UIDS)
    sop_class_uid: str | None = _key("SOPClassUID", "One UID or a list", pattern=_UIDS)
    instance_number: int | None = _key("InstanceNumber", "Instance number", ge=-(2**31), lt=2**31)


_STUDY_COLUMNS = """
st.study_uid, st.study_date, st.study_time, st.accession_number, st.study_description,
st.referring_physician, p.patient_id, p.patient_name, p.birth_date, p.sex,
(SELECT array_agg(DISTINCT m.modality ORDER BY m.modality) FROM series m
  WHERE m.study_uid = st.study_uid) AS modalities,
(SELECT count(*) FROM series c WHERE c.study_uid = st.study_uid) AS series_count,
(SELECT COALESCE(sum(c.instance_count), 0) FROM series c WHERE c.study_uid = st.study_uid)
  AS instance_count
"""
_FROM = "FROM studies st LEFT JOIN patients p ON p.id = st.patient_pk"


def _study_conditions(keys: StudyKeys, where: Conditions) -> None:
    where.text("p.patient_id", keys.patient_id)
    where.name("p.patient_name", keys.patient_name, fuzzy=keys.fuzzymatching)
    where.date_range("st.study_date", keys.study_date)
    where.text("st.accession_number", keys.accession_number)
    where.uids("st.study_uid", keys.study_uid)
    where.text("st.study_description", keys.study_description)
    where.name("st.referring_physician", keys.referring, fuzzy=keys.fuzzymatching)
    if keys.modalities:
        inner = Conditions()
        inner.codes("m.modality", keys.modalities)
        where.add(
            f"EXISTS (SELECT 1 FROM series m WHERE m.study_uid = st.study_uid AND {inner.sql()})",
            *inner.params,
        )


def _series_conditions(keys: SeriesKeys, where: Conditions) -> None:
    _study_conditions(keys, where)
    where.uids("s.series_uid", keys.series_uid)
    where.codes("s.modality", keys.modality)
    where.number("s.series_number", keys.series_number)
    where.text("s.series_description", keys.series_description)
    where.codes("s.body_part", keys.body_part)


def search_studies(pool: Pool, keys: StudyKeys, root: str) -> list[Json]:
    """Studies matching ``keys``, newest first."""
    where = Conditions()
    _study_conditions(keys, where)
    sql = (
        f"SELECT {_STUDY_COLUMNS} {_FROM} WHERE {where.sql()}"
        " ORDER BY st.study_date DESC NULLS LAST, st.study_time DESC NULLS LAST, st.study_uid"
        " LIMIT %s OFFSET %s"
    )
    rows = _rows(pool, sql, [*where.params, keys.limit, keys.offset])
    return [study_json(row, root) for row in rows]


def search_series(pool: Pool, keys: SeriesKeys, root: str, study: str | None = None) -> list[Json]:
    """Series matching ``keys`` (of one study when ``study`` is given)."""
    where = Conditions()
    _series_conditions(keys, where)
    if study is not None:
        where.add("s.study_uid = %s", study)
    sql = (
        f"SELECT {_STUDY_COLUMNS}, s.series_uid, s.modality, s.series_number,"
        " s.series_description, s.body_part, s.instance_count AS series_instances"
        f" {_FROM} JOIN series s ON s.study_uid = st.study_uid WHERE {where.sql()}"
        " ORDER BY s.study_uid, s.series_number NULLS LAST, s.series_uid LIMIT %s OFFSET %s"
    )
    rows = _rows(pool, sql, [*where.params, keys.limit, keys.offset])
    return [series_json(row, root, with_study=study is None) for row in rows]


def search_instances(
    pool: Pool,
    keys: InstanceKeys,
    root: str,
    study: str | None = None,
    series: str | None = None,
) -> list[Json]:
    """Instances matching ``keys`` (of one study or series when given)."""
    where = Conditions()
    _series_conditions(keys, where)
    where.uids("i.sop_uid", keys.sop_uid)
    where.uids("i.sop_class_uid", keys.sop_class_uid)
    where.number("i.instance_number", keys.instance_number)
    if study is not None:
        where.add("s.study_uid = %s", study)
    if series is not None:
        where.add("s.series_uid = %s", series)
    sql = (
        f"SELECT {_STUDY_COLUMNS}, s.series_uid, s.modality, s.series_number,"
        " s.series_description, s.body_part, s.instance_count AS series_instances,"
        " i.sop_uid, i.sop_class_uid, i.instance_number, i.pixel_rows, i.pixel_columns,"
        " i.number_of_frames, i.transfer_syntax"
        f" {_FROM} JOIN series s ON s.study_uid = st.study_uid"
        f" JOIN instances i ON i.series_uid = s.series_uid WHERE {where.sql()}"
        " ORDER BY s.study_uid, s.series_number NULLS LAST, s.series_uid,"
        " i.instance_number NULLS LAST, i.sop_uid LIMIT %s OFFSET %s"
    )
    rows = _rows(pool, sql, [*where.params, keys.limit, keys.offset])
    return [instance_json(row, root, with_series=series is None) for row in rows]


def _rows(pool: Pool, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def _study_pairs(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("SpecificCharacterSet", "ISO_IR 192"),
        ("StudyInstanceUID", row["study_uid"]),
        ("StudyDate", row["study_date"]),
        ("StudyTime", row["study_time"]),
        ("AccessionNumber", row["accession_number"]),
        ("InstanceAvailability", "ONLINE"),
        ("ModalitiesInStudy", list(row["modalities"] or [])),
        ("ReferringPhysicianName", row["referring_physician"]),
        ("StudyDescription", row["study_description"]),
        ("PatientName", row["patient_name"]),
        ("PatientID", row["patient_id"]),
        ("PatientBirthDate", row["birth_date"]),
        ("PatientSex", row["sex"]),
        ("StudyID", None),
        ("NumberOfStudyRelatedSeries", row["series_count"]),
        ("NumberOfStudyRelatedInstances", row["instance_count"]),
    ]


def study_json(row: dict[str, Any], root: str) -> Json:
    return dataset([*_study_pairs(row), ("RetrieveURL", study_url(root, row["study_uid"]))])


def _series_pairs(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("SpecificCharacterSet", "ISO_IR 192"),
        ("StudyInstanceUID", row["study_uid"]),
        ("SeriesInstanceUID", row["series_uid"]),
        ("Modality", row["modality"]),
        ("SeriesNumber", row["series_number"]),
        ("SeriesDescription", row["series_description"]),
        ("BodyPartExamined", row["body_part"]),
        ("NumberOfSeriesRelatedInstances", row["series_instances"]),
    ]


def series_json(row: dict[str, Any], root: str, *, with_study: bool) -> Json:
    pairs = _series_pairs(row)
    if with_study:
        pairs = [*_study_pairs(row)[2:], *pairs]
    url = series_url(root, row["study_uid"], row["series_uid"])
    return dataset([*pairs, ("RetrieveURL", url)])


def instance_json(row: dict[str, Any], root: str, *, with_series: bool) -> Json:
    pairs = [
        ("SpecificCharacterSet", "ISO_IR 192"),
        ("StudyInstanceUID", row["study_uid"]),
        ("SeriesInstanceUID", row["series_uid"]),
        ("SOPClassUID", row["sop_class_uid"]),
        ("SOPInstanceUID", row["sop_uid"]),
        ("InstanceNumber", row["instance_number"]),
        ("Rows", row["pixel_rows"]),
        ("Columns", row["pixel_columns"]),
        ("NumberOfFrames", row["number_of_frames"]),
        ("AvailableTransferSyntaxUID", row["transfer_syntax"]),
        ("Modality", row["modality"]),
    ]
    if with_series:
        pairs = [*_series_pairs(row)[2:], *pairs]
    url = instance_url(root, row["study_uid"], row["series_uid"], row["sop_uid"])
    return dataset([*pairs, ("RetrieveURL", url)])
