"""The worklist routes the SPA uses: the list, a study's detail, its images and heatmaps.

GET /worklist?state=&modality=&date_from=&date_to=&ai=&q=&sort=&order=&limit=&offset=
GET /studies/{study}                                 series, instances, runs, findings
GET /studies/{study}/thumbnail                       its first image, small
GET /studies/{study}/series/{series}/thumbnail
GET /studies/{study}/series/{series}/instances/{sop}/image?frame=&window=&level=&format=
    &size=&overlay=<label>                           rendered, the AI heatmap over it
                                                     (window=level,width)
GET /studies/{study}/series/{series}/instances/{sop}/heatmap?label=&layer=
                                                     the heatmap as its own image, or its
                                                     heat alone (RGBA) for a viewer's overlay
GET /worklist/latest                                 the change feed's newest sequence
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from acme.auth import Permission
from acme.events.values import Label
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body
from worklist import catalog
from worklist.listing import StudyDetail, WorklistPage, WorklistParams, study_detail, worklist
from worklist.render import Rendering, Window, heat_layer
from worklist.retrieve import THUMBNAIL, rendered_image
from worklist.routes import routes

_STUDY = "/studies/<uid:study>"
_INSTANCE = _STUDY + "/series/<uid:series>/instances/<uid:sop>"
_HEATMAP = """
SELECT f.heatmap_key FROM findings f JOIN inference_runs r ON r.id = f.run_id
WHERE r.study_uid = %s AND r.series_uid = %s AND f.sop_uid = %s AND f.label = %s
  AND r.status = 'completed' AND f.heatmap_key IS NOT NULL
ORDER BY r.series_completion DESC, r.started_at DESC LIMIT 1
"""
_IMAGES = ("image/png", "image/jpeg")


class ImageParams(BaseModel):
    """How to render an image: frame, window/level, format, size and a heatmap overlay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frame: int = Field(default=1, ge=1, le=100_000, description="1-based frame number.")
    window: str | None = Field(
        default=None,
        pattern=r"^-?[0-9]{1,7}(\.[0-9]{1,6})?,[1-9][0-9]{0,6}(\.[0-9]{1,6})?$",
        description="level,width: the window center and width (default: the image's own).",
    )
    format: Literal["png", "jpeg"] = "png"
    size: int | None = Field(default=None, ge=16, le=4096, description="Longest side, pixels.")
    overlay: Label | None = Field(default=None, description="A finding label: its heatmap over.")

    def rendering(self) -> Rendering:
        window = None
        if self.window is not None:
            level, width = (float(v) for v in self.window.split(","))
            window = Window(level, width)
        viewport = (self.size, self.size) if self.size else None
        return Rendering(f"image/{self.format}", window, viewport)  # type: ignore[arg-type]


class ThumbnailParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=THUMBNAIL, ge=16, le=512, description="Longest side, pixels.")
    format: Literal["png", "jpeg"] = "jpeg"


class HeatmapParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Label = Field(description="The finding label whose heatmap to show.")
    layer: bool = Field(
        default=False,
        description=(
            "true: the heat alone, an RGBA PNG transparent where the model did not look, to"
            " stretch over the frame (a viewer's overlay); false: the stored picture."
        ),
    )


@routes.get(
    "/worklist",
    permission=Permission.STUDIES_READ,
    phi=True,
    action="search",
    query=WorklistParams,
    response=WorklistPage,
)
def list_studies(ctx: Context, request: ApiRequest) -> WorklistPage:
    """Studies for the worklist: filter, sort, page."""
    params = request.params
    assert isinstance(params, WorklistParams)
    return worklist(ctx.db, params)


@routes.get(_STUDY, permission=Permission.STUDIES_READ, phi=True, response=StudyDetail)
def get_study(ctx: Context, request: ApiRequest) -> StudyDetail:
    """A study: its series and instances, AI runs and findings, report status."""
    study = request.study_uid = request.path_params["study"]
    detail = study_detail(ctx.db, study)
    if detail is None:
        raise ApiError(404, "not-found", f"no study {study}")
    return detail


def heatmap_of(ctx: Context, study: str, series: str, sop: str, label: str) -> tuple[str, bytes]:
    """The key and PNG of the newest heatmap of ``label`` on the instance; 404 when none."""
    with ctx.db.connection() as conn:
        row = conn.execute(_HEATMAP, (study, series, sop, label)).fetchone()
    if row is None:
        raise ApiError(404, "not-found", f"no heatmap of {label!r} on instance {sop}")
    key = str(row[0])
    return key, ctx.store.get(ctx.settings.buckets.results, key)


@routes.get(
    _INSTANCE + "/image",
    permission=Permission.IMAGES_READ,
    phi=True,
    action="render",
    query=ImageParams,
    media_types=_IMAGES,
    errors=(406,),
)
def get_image(ctx: Context, request: ApiRequest) -> Body:
    """An instance's frame rendered, with window/level, and a finding's heatmap over it."""
    params = request.params
    assert isinstance(params, ImageParams)
    study = request.study_uid = request.path_params["study"]
    series, sop = request.path_params["series"], request.path_params["sop"]
    (instance,) = catalog.archived(ctx.db, study, series, sop)
    how = params.rendering()
    key, heatmap = (None, None)
    if params.overlay is not None:
        key, heatmap = heatmap_of(ctx, study, series, sop, params.overlay)
    image = rendered_image(ctx, instance, params.frame, how, heatmap, key)
    return Body(image, how.media_type)


@routes.get(
    _INSTANCE + "/heatmap",
    permission=Permission.IMAGES_READ,
    phi=True,
    action="render",
    query=HeatmapParams,
    media_types=("image/png",),
)
def get_heatmap(ctx: Context, request: ApiRequest) -> Body:
    """A finding's heatmap as its own image (the model's view with the heat over it)."""
    params = request.params
    assert isinstance(params, HeatmapParams)
    study = request.study_uid = request.path_params["study"]
    series, sop = request.path_params["series"], request.path_params["sop"]
    catalog.archived(ctx.db, study, series, sop)
    _key, png = heatmap_of(ctx, study, series, sop, params.label)
    return Body(heat_layer(png) if params.layer else png, "image/png")


def _thumbnail(ctx: Context, request: ApiRequest) -> Body:
    params = request.params
    assert isinstance(params, ThumbnailParams)
    study = request.study_uid = request.path_params["study"]
    instance = catalog.first_image(
        catalog.archived(ctx.db, study, request.path_params.get("series"))
    )
    how = Rendering(f"image/{params.format}", None, (params.size, params.size), 85)  # type: ignore[arg-type]
    return Body(rendered_image(ctx, instance, 1, how), how.media_type)


_THUMBNAIL = {
    "permission": Permission.IMAGES_READ,
    "phi": True,
    "action": "render",
    "query": ThumbnailParams,
    "media_types": ("image/jpeg", "image/png"),
    "errors": (406,),
}


@routes.get(_STUDY + "/thumbnail", **_THUMBNAIL)
def study_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """The study's first image, small."""
    return _thumbnail(ctx, request)


@routes.get(_STUDY + "/series/<uid:series>/thumbnail", **_THUMBNAIL)
def series_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """The series' first image, small."""
    return _thumbnail(ctx, request)
