"""WADO-RS against the archive: instances, metadata, frames, bulk data, rendered, thumbnails."""

from __future__ import annotations

import dataclasses
import json
from io import BytesIO

import flask
import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.encaps import generate_frames
from worklist.multipart import boundary_of, split
from worklist_films import ROOT, Call, Film, caller

from acme.events import canonical_archive_key
from acme.function import Context

STUDY = f"{ROOT}.1"
UNCR = f"{STUDY}/series/{STUDY}.1/instances/{STUDY}.1.1"
J2KR = f"{STUDY}/series/{STUDY}.2/instances/{STUDY}.2.1"
ANY_SYNTAX = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def _parts(answer: flask.Response) -> list[tuple[str, bytes]]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    parts = split(answer.get_data(), boundary_of(answer.headers["Content-Type"]))
    return [(p.content_type, p.content) for p in parts]


def _get(call: Call, path: str, accept: str | None = None) -> flask.Response:
    return call("GET", f"/dicomweb/studies/{path}", headers={"Accept": accept} if accept else {})


def test_an_instance_as_stored_is_the_archived_file_byte_for_byte(
    ctx: Context, call: Call, indexed: list[Film]
) -> None:
    for film, path in zip(indexed, (UNCR, J2KR), strict=True):
        ((media, content),) = _parts(_get(call, path, ANY_SYNTAX))
        key = canonical_archive_key(film.study_uid, film.series_uid, film.sop_uid)
        assert content == ctx.store.get(ctx.settings.buckets.archive, key)
        assert media == f"application/dicom; transfer-syntax={film.transfer_syntax}"


def test_the_default_syntax_is_explicit_little_endian_decoded(
    call: Call, indexed: list[Film]
) -> None:
    ((media, content),) = _parts(_get(call, J2KR))
    assert media == "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    sent = dcmread(BytesIO(content))
    original = dcmread(BytesIO(indexed[1].data))
    assert sent.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(sent.pixel_array, original.pixel_array)


def test_a_study_and_a_series_are_every_instance(call: Call, indexed: list[Film]) -> None:
    assert len(_parts(_get(call, STUDY, ANY_SYNTAX))) == 2
    assert len(_parts(_get(call, f"{STUDY}/series/{STUDY}.2", ANY_SYNTAX))) == 1


def test_single_part_application_dicom_for_one_instance(call: Call, indexed: list[Film]) -> None:
    answer = _get(call, UNCR, "application/dicom; transfer-syntax=*")
    assert answer.status_code == 200 and answer.mimetype == "application/dicom"
    assert dcmread(BytesIO(answer.get_data())).SOPInstanceUID == f"{STUDY}.1.1"


def test_a_syntax_not_offered_is_406(call: Call, indexed: list[Film]) -> None:
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    answer = _get(call, J2KR, accept)
    assert answer.status_code == 406 and "transfer-syntax" in answer.get_json()["detail"]


def test_metadata_with_bulk_data_by_uri(call: Call, indexed: list[Film]) -> None:
    answer = _get(call, f"{STUDY}/metadata")
    assert answer.status_code == 200 and answer.mimetype == "application/dicom+json"
    instances = json.loads(answer.get_data())
    assert sorted(i["00080018"]["Value"][0] for i in instances) == [f"{STUDY}.1.1", f"{STUDY}.2.1"]
    first = next(i for i in instances if i["00080018"]["Value"][0] == f"{STUDY}.1.1")
    assert first["00100010"]["Value"] == [{"Alphabetic": "Film^Jane"}]
    uri = first["7FE00010"]["BulkDataURI"]
    assert uri.endswith(f"/dicomweb/studies/{UNCR}/bulkdata/7FE00010")
    path = uri.split("/dicomweb/studies/", 1)[1]
    ((_media, value),) = _parts(_get(call, path))
    assert value == dcmread(BytesIO(indexed[0].data)).PixelData


def test_frames_uncompressed_and_as_stored(call: Call, indexed: list[Film]) -> None:
    for film, path in zip(indexed, (UNCR, J2KR), strict=True):
        original = dcmread(BytesIO(film.data))
        ((media, cells),) = _parts(_get(call, f"{path}/frames/1"))
        assert media == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
        decoded = np.frombuffer(cells, dtype="<u2").reshape(film.rows, film.columns)
        assert np.array_equal(decoded, original.pixel_array)
    accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
    ((media, stream),) = _parts(_get(call, f"{J2KR}/frames/1", accept))
    assert media == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.90"
    original = dcmread(BytesIO(indexed[1].data))
    assert stream == next(generate_frames(original.PixelData, number_of_frames=1))
    ((media, _),) = _parts(_get(call, f"{J2KR}/frames/1", 'multipart/related; type="image/jp2"'))
    assert media.startswith("image/jp2")


def test_a_frame_beyond_the_last_is_404(call: Call, indexed: list[Film]) -> None:
    answer = _get(call, f"{UNCR}/frames/1,2")
    assert answer.status_code == 404 and "1 frame" in answer.get_json()["detail"]


@pytest.mark.parametrize(
    ("suffix", "accept", "fmt"),
    [
        ("/rendered", None, "JPEG"),
        ("/rendered?accept=image/png", None, "PNG"),
        ("/frames/1/rendered", "image/png", "PNG"),
    ],
)
def test_rendered_is_an_image_of_the_right_size(
    call: Call, indexed: list[Film], suffix: str, accept: str | None, fmt: str
) -> None:
    answer = _get(call, J2KR + suffix, accept)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    image = Image.open(BytesIO(answer.get_data()))
    assert image.format == fmt
    assert image.size == (indexed[1].columns, indexed[1].rows)


def test_rendered_window_and_viewport(call: Call, indexed: list[Film]) -> None:
    small = _get(call, f"{UNCR}/rendered?viewport=200,200&accept=image/png")
    image = Image.open(BytesIO(small.get_data()))
    assert max(image.size) == 200
    narrow = _get(call, f"{UNCR}/rendered?viewport=200,200&accept=image/png&window=1000,10")
    assert narrow.get_data() != small.get_data()
    levels = np.asarray(Image.open(BytesIO(narrow.get_data())))
    grays = np.mean((levels > 10) & (levels < 245))
    default = np.asarray(Image.open(BytesIO(small.get_data())))
    assert grays < 0.05 < np.mean((default > 10) & (default < 245))  # a 10-wide window: binary


def test_thumbnails_are_small(call: Call, indexed: list[Film]) -> None:
    for path in (STUDY, f"{STUDY}/series/{STUDY}.2", J2KR, f"{J2KR}/frames/1"):
        answer = _get(call, f"{path}/thumbnail", "image/jpeg")
        assert answer.status_code == 200
        assert max(Image.open(BytesIO(answer.get_data())).size) == 128


def test_an_image_type_not_offered_is_406(call: Call, indexed: list[Film]) -> None:
    assert _get(call, f"{UNCR}/rendered", "image/gif").status_code == 406


def test_unknown_uids_are_404(call: Call, indexed: list[Film]) -> None:
    for path in ("1.2.3", f"{STUDY}/series/1.2.3", f"{STUDY}/series/{STUDY}.1/instances/9.9"):
        answer = _get(call, path)
        assert answer.status_code == 404, path
        assert "1.2.3" in answer.get_json()["detail"] or "9.9" in answer.get_json()["detail"]


def test_cors_for_the_configured_origin_only(ctx: Context, indexed: list[Film]) -> None:
    spa = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"cors_origins": "https://spa.example"})
    )
    call = caller(spa)
    preflight = call(
        "OPTIONS", f"/dicomweb/studies/{STUDY}/metadata", role=None,
        headers={"Origin": "https://spa.example", "Access-Control-Request-Method": "GET"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = call("GET", "/dicomweb/studies", headers={"Origin": "https://spa.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    other = call("GET", "/dicomweb/studies", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    refused = call(
        "OPTIONS", "/dicomweb/studies", role=None, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
