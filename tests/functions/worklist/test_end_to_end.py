"""DICOMweb and the change feed on the running platform (``acme up``), through the gateway.

The client is the field's own: the ``dicomweb-client`` package, every read and store method;
and the requests OHIF v3's DICOMweb data source sends to list a study, open it and show its
images (its query parameters and Accept headers), made as it makes them.
"""

from __future__ import annotations

import email.parser
import email.policy
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx
import numpy as np
import pytest
from acme_platform import running_platform, wait_until
from dicomweb_client import DICOMwebClient
from jetstream import published
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from worklist_films import ROOT, Film, films

from acme.auth import mint_token
from acme.db import make_pool
from acme.events import EventType, canonical_archive_key
from acme.settings import Settings
from acme.stack.state import read_state
from acme.storage import S3ObjectStore, make_s3_client

STUDY = f"{ROOT}.1"
UNCR = (STUDY, f"{STUDY}.1", f"{STUDY}.1.1")
J2KR = (STUDY, f"{STUDY}.2", f"{STUDY}.2.1")
VIEWER = "http://viewer.example:3000"
EXTRA = {
    "ACME_FUNCTIONS": "dicom-ingest,worklist",
    "ACME_TICK_SECONDS": "1",
    "ACME_CORS_ORIGINS": VIEWER,
    "ACME_STOW_WAIT_SECONDS": "60",
}


@dataclass(frozen=True)
class Platform:
    settings: Settings
    gateway: str
    token: str
    films: list[Film]

    @property
    def root(self) -> str:
        return f"{self.gateway}/function/worklist/dicomweb"

    def client(self) -> DICOMwebClient:
        return DICOMwebClient(url=self.root, headers={"Authorization": f"Bearer {self.token}"})

    def get(self, path: str, accept_header: str | None = None, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if accept_header:
            headers["Accept"] = accept_header
        return httpx.get(f"{self.root}{path}", params=params, headers=headers, timeout=120)


def _count(settings: Settings, sql: str) -> int:
    pool = make_pool(settings, application_name="test")
    try:
        with pool.connection() as conn:
            row = conn.execute(sql).fetchone()
    finally:
        pool.close()
    return int(row[0]) if row else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(home: Path, test_films: list[Film], port: int | None = None) -> Iterator[Platform]:
    # dicomweb-client sends Host without the port, so the links the worklist answers with
    # (Retrieve URLs, BulkDataURIs) come from ACME_PUBLIC_URL, as behind a hospital's proxy
    port = port or _free_port()
    public = {"ACME_GATEWAY_PORT": str(port), "ACME_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with running_platform(home, extra={**EXTRA, **public}) as settings:
        state = read_state(settings.home.resolve())
        assert state is not None and state.gateway_url
        store = S3ObjectStore(make_s3_client(settings))
        for film in test_films:
            store.put(settings.buckets.inbox, f"modality/{film.name}", film.data)
        wait_until(
            lambda: _count(settings, "SELECT count(*) FROM instances") >= len(test_films),
            180, "the films indexed",
        )  # fmt: skip
        roles = ["radiologist", "technologist"]
        token = mint_token(settings, user="dr.web", roles=roles)
        yield Platform(settings, state.gateway_url, token, test_films)


def platform_home() -> Iterator[Path]:
    """A home outside pytest's temporary folder, whose permissions another pytest run may
    reset (which would lock PostgreSQL's system user out)."""
    home = Path(tempfile.mkdtemp(prefix="acme-worklist-"))
    try:
        yield home / "home"
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    for home in platform_home():
        yield from _start(home, films())


def _tag(result: dict, tag: str) -> object:
    return result[tag]["Value"][0]


def test_search_studies_series_and_instances_with_filters(platform: Platform) -> None:
    client = platform.client()
    studies = client.search_for_studies(
        search_filters={"PatientName": "film*", "StudyDate": "20240101-20240131"},
        fields=["StudyDescription"],
    )
    assert [_tag(s, "0020000D") for s in studies] == [STUDY]
    assert _tag(studies[0], "00081030") == "CHEST PA"
    assert client.search_for_studies(search_filters={"PatientID": "nobody"}) == []
    series = client.search_for_series(STUDY, search_filters={"SeriesNumber": 2})
    assert [_tag(s, "0020000E") for s in series] == [J2KR[1]]
    everywhere = client.search_for_series(search_filters={"Modality": "CR"}, limit=10)
    assert len(everywhere) == 2
    instances = client.search_for_instances(STUDY, J2KR[1])
    assert [_tag(i, "00080018") for i in instances] == [J2KR[2]]
    assert _tag(instances[0], "00083002") == "1.2.840.10008.1.2.4.90"
    assert len(client.search_for_instances(STUDY)) == 2
    assert len(client.search_for_instances(search_filters={"SOPInstanceUID": UNCR[2]})) == 1


def _multipart(response: httpx.Response) -> list[tuple[str, bytes]]:
    """The parts, read by the standard library's MIME parser (not the worklist's own)."""
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    return [(p.get_content_type(), p.get_payload(decode=True)) for p in message.iter_parts()]


def test_an_instance_retrieved_is_the_archived_file_byte_for_byte(platform: Platform) -> None:
    store = S3ObjectStore(make_s3_client(platform.settings))
    for film, (study, series, sop) in zip(platform.films, (UNCR, J2KR), strict=True):
        answer = platform.get(
            f"/studies/{study}/series/{series}/instances/{sop}",
            'multipart/related; type="application/dicom"; transfer-syntax=*',
        )
        assert answer.status_code == 200
        ((media, content),) = _multipart(answer)
        key = canonical_archive_key(study, series, sop)
        assert media == "application/dicom"
        assert content == store.get(platform.settings.buckets.archive, key)
        ds = platform.client().retrieve_instance(
            study, series, sop, media_types=(("application/dicom", "*"),)
        )
        assert ds.SOPInstanceUID == sop
        assert ds.file_meta.TransferSyntaxUID == film.transfer_syntax


def test_every_read_method_of_dicomweb_client(platform: Platform) -> None:
    client = platform.client()
    study, series, sop = J2KR
    original = dcmread(BytesIO(platform.films[1].data))
    assert len(client.retrieve_study(STUDY)) == 2
    assert len(list(client.iter_study(STUDY))) == 2
    (decoded,) = client.retrieve_series(study, series)  # uncompressed by default
    assert decoded.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(decoded.pixel_array, original.pixel_array)
    assert len(list(client.iter_series(study, series))) == 1
    metadata = client.retrieve_study_metadata(STUDY)
    assert sorted(_tag(m, "00080018") for m in metadata) == sorted([UNCR[2], J2KR[2]])
    (series_metadata,) = client.retrieve_series_metadata(study, series)
    assert _tag(series_metadata, "00100020") == "WL-1"
    instance_metadata = client.retrieve_instance_metadata(study, series, sop)
    uri = instance_metadata["7FE00010"]["BulkDataURI"]
    assert uri.startswith(platform.gateway)
    (pixel_data,) = client.retrieve_bulkdata(uri)
    assert pixel_data == original.PixelData
    assert list(client.iter_bulkdata(uri)) == [pixel_data]
    (cells,) = client.retrieve_instance_frames(study, series, sop, [1])
    rows, columns = original.Rows, original.Columns
    assert np.array_equal(np.frombuffer(cells, "<u2").reshape(rows, columns), original.pixel_array)
    assert list(client.iter_instance_frames(study, series, sop, [1])) == [cells]
    for name, numbers in (("rendered", None), ("frames", [1])):
        if numbers:
            picture = client.retrieve_instance_frames_rendered(
                study, series, sop, numbers, media_types=("image/png",)
            )
        else:
            picture = client.retrieve_instance_rendered(
                study, series, sop, media_types=("image/png",)
            )
        assert Image.open(BytesIO(picture)).size == (columns, rows), name
    small = client.retrieve_series_rendered(
        study, series, media_types=("image/jpeg",), params={"viewport": "256,256"}
    )
    image = Image.open(BytesIO(small))
    assert image.format == "JPEG" and max(image.size) == 256


def test_frames_uncompressed_and_in_the_stored_syntax(platform: Platform) -> None:
    client = platform.client()
    for film, (study, series, sop) in zip(platform.films, (UNCR, J2KR), strict=True):
        original = dcmread(BytesIO(film.data))
        (cells,) = client.retrieve_instance_frames(
            study,
            series,
            sop,
            [1],
            media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),),
        )
        pixels = np.frombuffer(cells, "<u2").reshape(film.rows, film.columns)
        assert np.array_equal(pixels, original.pixel_array), film.name
    study, series, sop = J2KR
    original = dcmread(BytesIO(platform.films[1].data))
    (stream,) = client.retrieve_instance_frames(
        study, series, sop, [1], media_types=(("image/jp2", "1.2.840.10008.1.2.4.90"),)
    )
    assert stream == next(generate_frames(original.PixelData, number_of_frames=1))


def test_store_an_instance_that_reaches_instance_stored(platform: Platform) -> None:
    ds = dcmread(BytesIO(platform.films[0].data))
    ds.SeriesInstanceUID = f"{STUDY}.3"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{STUDY}.3.1"
    ds.SeriesNumber = 3
    response: Dataset = platform.client().store_instances([ds])
    (referenced,) = response.ReferencedSOPSequence
    assert referenced.ReferencedSOPInstanceUID == f"{STUDY}.3.1"
    assert "FailedSOPSequence" not in response
    wait_until(
        lambda: any(e.data["sop_uid"] == f"{STUDY}.3.1"
                    for e in published(platform.settings, EventType.INSTANCE_STORED)),
        60, "instance.stored of the stored instance",
    )  # fmt: skip
    found = platform.client().search_for_instances(STUDY, f"{STUDY}.3")
    assert [_tag(i, "00080018") for i in found] == [f"{STUDY}.3.1"]


def test_what_ohif_v3_calls_to_list_open_and_show_a_study(platform: Platform) -> None:
    """The requests of OHIF's DicomWebDataSource (qido.js, retrieveMetadataLoaderAsync,
    retrieveThumbnail) and of the WADO-RS image loader, with their parameters and Accept."""
    json_ = "application/dicom+json"
    listed = platform.get(
        "/studies", json_, PatientName="*Film*", **{"00100020": "*WL*"}, AccessionNumber="*ACC*",
        StudyDescription="*CHEST*", ModalitiesInStudy="CR", StudyDate="20240101-20240131",
        limit="101", offset="0", fuzzymatching="false",
        includefield="00081030,00080060,00080090,00100030",
    )  # fmt: skip
    assert listed.status_code == 200 and listed.headers["content-type"] == json_
    assert [_tag(s, "0020000D") for s in listed.json()] == [STUDY]
    by_uid = platform.get("/studies", json_, StudyInstanceUID=f"1.2.3\\{STUDY}", limit="101")
    assert [_tag(s, "0020000D") for s in by_uid.json()] == [STUDY]
    series = platform.get(f"/studies/{STUDY}/series", json_, includefield="0008103E,00080021")
    assert sorted(_tag(s, "0020000E") for s in series.json()) == [UNCR[1], J2KR[1], f"{STUDY}.3"]
    one = platform.get(f"/studies/{STUDY}/series", json_, SeriesInstanceUID=J2KR[1])
    assert [_tag(s, "0020000E") for s in one.json()] == [J2KR[1]]
    metadata = platform.get(f"/studies/{STUDY}/series/{J2KR[1]}/metadata", json_)
    (instance,) = metadata.json()
    assert _tag(instance, "00280010") == platform.films[1].rows
    frames = platform.get(
        f"/studies/{STUDY}/series/{J2KR[1]}/instances/{J2KR[2]}/frames/1",
        "multipart/related; type=application/octet-stream; transfer-syntax=*",
    )
    ((media, stream),) = _multipart(frames)
    assert frames.status_code == 200 and media == "application/octet-stream"
    assert stream[:4] == b"\xff\x4f\xff\x51"  # a JPEG 2000 codestream as stored
    thumbnail = platform.get(
        f"/studies/{STUDY}/series/{J2KR[1]}/thumbnail", "image/jpeg", viewport="256,256"
    )
    assert Image.open(BytesIO(thumbnail.content)).format == "JPEG"
    first = platform.get(
        f"/studies/{STUDY}/series/{J2KR[1]}/instances", json_, limit="1", includefield="00080018"
    )
    assert [_tag(i, "00080018") for i in first.json()] == [J2KR[2]]
    rendered = platform.get(f"/studies/{STUDY}/rendered", None, accept="image/jpeg")
    assert rendered.headers["content-type"] == "image/jpeg"
    preflight = httpx.options(
        f"{platform.root}/studies/{STUDY}/series/{J2KR[1]}/metadata",
        headers={"Origin": VIEWER, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == VIEWER


def test_bad_requests_are_4xx_never_5xx(platform: Platform) -> None:
    assert platform.get("/studies", None, StudyDate="yesterday").status_code == 400
    assert platform.get("/studies/9.9.9/metadata").status_code == 404
    assert platform.get(f"/studies/{STUDY}/metadata", "application/xml").status_code == 406
    assert platform.get("/studies/not-a-uid").status_code == 404
