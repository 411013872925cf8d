"""Real chest films for the worklist tests: uncompressed and JPEG 2000, one study."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

import flask
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from worklist.api import routes

from acme.auth import mint_token, policy_from_settings
from acme.function import Context
from acme.http import dispatcher_for

ROOT = "1.2.826.0.1.3680043.8.498.77"


@dataclass(frozen=True)
class Film:
    """One archived instance of the test set."""

    name: str
    data: bytes
    study_uid: str
    series_uid: str
    sop_uid: str
    transfer_syntax: str
    rows: int
    columns: int


def films() -> list[Film]:
    """The real PA chest film uncompressed, and as JPEG 2000 in a series of its own (new UIDs,
    so it is not a duplicate of the first), both under one study and patient."""
    out = []
    for n, name in enumerate(("RG1_UNCR.dcm", "RG1_J2KR.dcm"), start=1):
        ds = dcmread(get_testdata_file(name, download=False))
        ds.StudyInstanceUID = f"{ROOT}.1"
        ds.SeriesInstanceUID = f"{ROOT}.1.{n}"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{ROOT}.1.{n}.1"
        ds.SeriesNumber = n
        ds.PatientID, ds.PatientName, ds.AccessionNumber = "WL-1", "Film^Jane", "ACC-77"
        ds.StudyDate, ds.StudyDescription = "20240115", "CHEST PA"
        out.append(_film(name, ds))
    return out


def _film(name: str, ds: Dataset) -> Film:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return Film(
        name=name,
        data=buffer.getvalue(),
        study_uid=ds.StudyInstanceUID,
        series_uid=ds.SeriesInstanceUID,
        sop_uid=ds.SOPInstanceUID,
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
    )


Call = Callable[..., flask.Response]


def caller(ctx: Context) -> Call:
    """``call(method, path, role="radiologist", headers=..., data=...)`` through the worklist
    API, with a local token for ``role`` (None: no token)."""
    dispatch = dispatcher_for(routes, policy_from_settings(ctx.settings))
    app = flask.Flask("worklist-test")

    def run(
        method: str,
        path: str,
        *,
        role: str | None = "radiologist",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> flask.Response:
        sent = dict(headers or {})
        if role is not None:
            token = mint_token(ctx.settings, user="dr.test", roles=[role])
            sent["Authorization"] = f"Bearer {token}"
        with app.test_request_context(path, method=method, headers=sent, data=data):
            return dispatch(ctx, flask.request)

    return run
