"""QIDO-RS against the index: matching, paging, attributes, errors."""

from __future__ import annotations

import json

import pytest
from worklist_films import ROOT, Call, Film

STUDY = f"{ROOT}.1"


def _search(call: Call, path: str, **headers: str) -> list[dict]:
    answer = call("GET", f"/dicomweb{path}", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/dicom+json"
    return json.loads(answer.get_data())


def _values(results: list[dict], tag: str) -> list[object]:
    return [r[tag]["Value"][0] for r in results if "Value" in r.get(tag, {})]


@pytest.mark.parametrize(
    "query",
    [
        "PatientID=WL-1",
        "00100020=WL-1",
        "PatientName=film*",
        "PatientName=FILM%5EJANE",
        "PatientName=jane&fuzzymatching=true",
        "StudyDate=20240101-20240131",
        "StudyDate=-20240115",
        "StudyDate=20240115-",
        "StudyDate=20240115",
        "AccessionNumber=ACC-7?",
        f"StudyInstanceUID={STUDY}",
        f"StudyInstanceUID=1.2.3%5C{STUDY}",
        "ModalitiesInStudy=CR",
        "StudyDescription=*PA",
    ],
)
def test_a_study_matches(call: Call, indexed: list[Film], query: str) -> None:
    results = _search(call, f"/studies?{query}")
    assert _values(results, "0020000D") == [STUDY]


@pytest.mark.parametrize(
    "query",
    [
        "PatientID=WL-2",
        "PatientName=smith*",
        "StudyDate=20240116-",
        "StudyDate=20240230",  # not a calendar day: matches nothing, is no error
        "ModalitiesInStudy=CT",
        "AccessionNumber=ACC",
    ],
)
def test_a_study_does_not_match(call: Call, indexed: list[Film], query: str) -> None:
    assert _search(call, f"/studies?{query}") == []


def test_a_study_result_holds_what_ohif_lists(call: Call, indexed: list[Film]) -> None:
    (study,) = _search(
        call, "/studies?limit=101&offset=0&fuzzymatching=false"
        "&includefield=00081030,00080060,00080090,00100030"
    )  # fmt: skip
    assert study["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Film^Jane"}]}
    assert study["00080020"]["Value"] == ["20240115"]
    assert study["00080050"]["Value"] == ["ACC-77"]
    assert study["00080061"]["Value"] == ["CR"]
    assert study["00201206"]["Value"] == [2] and study["00201208"]["Value"] == [2]
    assert study["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{STUDY}")


def test_series_of_a_study_and_filters(call: Call, indexed: list[Film]) -> None:
    series = _search(call, f"/studies/{STUDY}/series?includefield=0008103E,00080021")
    assert _values(series, "0020000E") == [f"{STUDY}.1", f"{STUDY}.2"]
    assert _values(series, "00201209") == [1, 1]
    one = _search(call, f"/studies/{STUDY}/series?SeriesInstanceUID={STUDY}.2")
    assert _values(one, "0020000E") == [f"{STUDY}.2"]
    everywhere = _search(call, "/series?Modality=CR&SeriesNumber=1")
    assert _values(everywhere, "0020000E") == [f"{STUDY}.1"]
    assert _values(everywhere, "0020000D") == [STUDY]


def test_instances_at_every_level(call: Call, indexed: list[Film]) -> None:
    by_series = _search(call, f"/studies/{STUDY}/series/{STUDY}.2/instances")
    assert _values(by_series, "00080018") == [f"{STUDY}.2.1"]
    assert _values(by_series, "00083002") == ["1.2.840.10008.1.2.4.90"]
    assert _values(by_series, "00280010") == [indexed[1].rows]
    in_study = _search(call, f"/studies/{STUDY}/instances?limit=1&offset=1")
    assert _values(in_study, "00080018") == [f"{STUDY}.2.1"]
    anywhere = _search(call, f"/instances?SOPInstanceUID={STUDY}.1.1")
    assert _values(anywhere, "0020000E") == [f"{STUDY}.1"]


def test_paging(call: Call, indexed: list[Film]) -> None:
    first = _search(call, "/series?limit=1")
    second = _search(call, "/series?limit=1&offset=1")
    assert len(first) == len(second) == 1 and first != second
    assert _search(call, "/series?offset=2") == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("StudyDate=2024-01-15", "StudyDate"),
        ("limit=5000", "limit"),
        ("PatientSize=1.8", "PatientSize"),
        ("includefield=00100010%3B", "includefield"),
        ("offset=-1", "offset"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(
    call: Call, indexed: list[Film], query: str, named: str
) -> None:
    answer = call("GET", f"/dicomweb/studies?{query}")
    assert answer.status_code == 400
    assert named in answer.get_json()["detail"]


def test_unknown_study_is_404_and_unacceptable_is_406(call: Call, indexed: list[Film]) -> None:
    assert call("GET", "/dicomweb/studies/1.2.3/series").status_code == 404
    answer = call("GET", "/dicomweb/studies", headers={"Accept": "application/dicom+xml"})
    assert answer.status_code == 406
    assert "application/dicom+xml" in answer.get_json()["detail"]


def test_search_needs_a_token_and_a_role(call: Call, indexed: list[Film]) -> None:
    assert call("GET", "/dicomweb/studies", role=None).status_code == 401
    assert call("GET", "/dicomweb/studies", role="auditor").status_code == 403
