"""The ``subject`` of ``org.acme.imaging`` events (docs/architecture.md §3).

``studies/<StudyUID>[/series/<SeriesUID>[/instances/<SOPUID>]]``: brokers and the audit trail
can select a study's events by subject prefix without reading the data.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from acme.errors import EventError
from acme.events.values import DICOM_UID_PATTERN

_UID: Final = re.compile(DICOM_UID_PATTERN)
_UID_PART: Final = DICOM_UID_PATTERN.strip("^$")
_SUBJECT: Final = re.compile(
    rf"^studies/(?P<study>{_UID_PART})"
    rf"(?:/series/(?P<series>{_UID_PART})(?:/instances/(?P<sop>{_UID_PART}))?)?$"
)


class StudySubject(NamedTuple):
    """The UIDs a subject names; ``series_uid``/``sop_uid`` are None when it stops earlier."""

    study_uid: str
    series_uid: str | None = None
    sop_uid: str | None = None


def _check_uid(name: str, value: str) -> str:
    if len(value) > 64 or not _UID.match(value):
        raise EventError(f"{name}: expected a DICOM UID (digits and dots, <= 64), got {value!r}")
    return value


def study_subject(study_uid: str, series_uid: str | None = None, sop_uid: str | None = None) -> str:
    """``studies/<StudyUID>[/series/<SeriesUID>[/instances/<SOPUID>]]``, UIDs checked."""
    subject = f"studies/{_check_uid('study_uid', study_uid)}"
    if series_uid is None:
        if sop_uid is not None:
            raise EventError("series_uid: required when sop_uid is given")
        return subject
    subject += f"/series/{_check_uid('series_uid', series_uid)}"
    if sop_uid is not None:
        subject += f"/instances/{_check_uid('sop_uid', sop_uid)}"
    return subject


def parse_study_subject(subject: str) -> StudySubject:
    """The UIDs of a subject made by :func:`study_subject`; :class:`EventError` otherwise."""
    match = _SUBJECT.match(subject)
    if match is None or any(len(uid or "") > 64 for uid in match.groups()):
        raise EventError(
            "subject: expected studies/<StudyUID>[/series/<SeriesUID>[/instances/<SOPUID>]], "
            f"got {subject!r}"
        )
    return StudySubject(match["study"], match["series"], match["sop"])
