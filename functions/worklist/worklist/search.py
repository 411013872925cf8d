"""QIDO-RS routes: ``/dicomweb/studies``, ``/series``, ``/instances`` and below a study or
series (searched as ``search`` in the audit trail)."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel

from acme.auth import Permission
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body
from worklist import catalog
from worklist.accept import accept_of, wants_json
from worklist.dicomjson import Json
from worklist.links import DICOMWEB, dicomweb_root
from worklist.qido import (
    InstanceKeys,
    SeriesKeys,
    StudyKeys,
    search_instances,
    search_series,
    search_studies,
)
from worklist.routes import routes

DICOM_JSON = "application/dicom+json"
K = TypeVar("K", bound=BaseModel)
_STUDY = DICOMWEB + "/studies/<uid:study>"
_SEARCH = {
    "permission": Permission.STUDIES_READ,
    "phi": True,
    "action": "search",
    "media_types": (DICOM_JSON,),
    "errors": (406,),
}


def _keys(request: ApiRequest, model: type[K]) -> K:
    wants_json(accept_of(dict(request.headers), {}))
    if not isinstance(request.params, model):
        raise ApiError(400, "invalid-query", f"expected the query of {model.__name__}")
    return request.params


def _answer(results: list[Json]) -> Body:
    return Body(json.dumps(results, separators=(",", ":")).encode(), DICOM_JSON)


def _root(ctx: Context, request: ApiRequest) -> str:
    return dicomweb_root(request.headers, ctx.name, ctx.settings.public_url)


def _single_study(keys: StudyKeys) -> str | None:
    uid = keys.study_uid
    return uid if uid and "," not in uid and "\\" not in uid else None


@routes.get(DICOMWEB + "/studies", query=StudyKeys, **_SEARCH)
def qido_studies(ctx: Context, request: ApiRequest) -> Body:
    """Search for studies."""
    keys = _keys(request, StudyKeys)
    request.study_uid = _single_study(keys)
    return _answer(search_studies(ctx.db, keys, _root(ctx, request)))


@routes.get(DICOMWEB + "/series", query=SeriesKeys, **_SEARCH)
def qido_series(ctx: Context, request: ApiRequest) -> Body:
    """Search for series of any study."""
    keys = _keys(request, SeriesKeys)
    request.study_uid = _single_study(keys)
    return _answer(search_series(ctx.db, keys, _root(ctx, request)))


@routes.get(_STUDY + "/series", query=SeriesKeys, **_SEARCH)
def qido_study_series(ctx: Context, request: ApiRequest) -> Body:
    """Search for the series of a study."""
    keys = _keys(request, SeriesKeys)
    study = request.study_uid = request.path_params["study"]
    catalog.archived(ctx.db, study)  # 404 for a study the archive does not hold
    return _answer(search_series(ctx.db, keys, _root(ctx, request), study=study))


@routes.get(DICOMWEB + "/instances", query=InstanceKeys, **_SEARCH)
def qido_instances(ctx: Context, request: ApiRequest) -> Body:
    """Search for instances of any study."""
    keys = _keys(request, InstanceKeys)
    request.study_uid = _single_study(keys)
    return _answer(search_instances(ctx.db, keys, _root(ctx, request)))


@routes.get(_STUDY + "/instances", query=InstanceKeys, **_SEARCH)
def qido_study_instances(ctx: Context, request: ApiRequest) -> Body:
    """Search for the instances of a study."""
    keys = _keys(request, InstanceKeys)
    study = request.study_uid = request.path_params["study"]
    catalog.archived(ctx.db, study)
    return _answer(search_instances(ctx.db, keys, _root(ctx, request), study=study))


@routes.get(_STUDY + "/series/<uid:series>/instances", query=InstanceKeys, **_SEARCH)
def qido_series_instances(ctx: Context, request: ApiRequest) -> Body:
    """Search for the instances of a series."""
    keys = _keys(request, InstanceKeys)
    study = request.study_uid = request.path_params["study"]
    series = request.path_params["series"]
    catalog.archived(ctx.db, study, series)
    found = search_instances(ctx.db, keys, _root(ctx, request), study=study, series=series)
    return _answer(found)
