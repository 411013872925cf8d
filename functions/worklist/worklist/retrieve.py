"""WADO-RS routes (PS3.18 10.4): instances, series and studies, metadata, frames, bulk data,
rendered images and thumbnails (read as ``read`` in the audit trail).

    /dicomweb/studies/{study}[/series/{series}[/instances/{sop}]]     multipart application/dicom
        .../metadata                                                   application/dicom+json
        .../rendered, .../thumbnail                                    image/jpeg or image/png
    .../instances/{sop}/frames/{1,2,...}                               multipart frames
    .../instances/{sop}/frames/{n}/rendered, .../thumbnail
    .../instances/{sop}/bulkdata/{tag path}                            multipart octet-stream

Instances come as archived when the client accepts their transfer syntax (``*`` included),
else uncompressed; frames as stored or uncompressed (:mod:`worklist.encoding`). A rendered
series or study is its first instance's first frame; a rendered instance, its first frame.
"""

from __future__ import annotations

import json
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from acme.auth import Permission
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body
from worklist import catalog
from worklist.accept import NotAcceptable, accept_of, parse_accept, pick_image
from worklist.accept import wants_json as _wants_json
from worklist.cache import Cache
from worklist.catalog import Archived
from worklist.encoding import (
    EXPLICIT_LE,
    can_send,
    frame_media,
    frames_as_stored,
    frames_uncompressed,
    instance_as,
    read,
)
from worklist.links import DICOMWEB, dicomweb_root, instance_url
from worklist.metadata import bulk_value, instances_metadata
from worklist.multipart import Part, related
from worklist.render import FORMATS, Rendering, Window, render
from worklist.routes import routes

DICOM: Final = "application/dicom"
MULTIPART_DICOM: Final = f'multipart/related; type="{DICOM}"'
OCTETS: Final = "application/octet-stream"
MULTIPART_OCTETS: Final = f'multipart/related; type="{OCTETS}"'
_STUDY = DICOMWEB + "/studies/<uid:study>"
_SERIES = _STUDY + "/series/<uid:series>"
_INSTANCE = _SERIES + "/instances/<uid:sop>"
_FRAMES = _INSTANCE + "/frames/<frames:frames>"
_READ = {"permission": Permission.IMAGES_READ, "phi": True, "action": "read"}
_CENTER = r"-?[0-9]{1,7}(\.[0-9]{1,6})?"
_WIDTH = r"[1-9][0-9]{0,6}(\.[0-9]{1,6})?"
THUMBNAIL: Final = 128


class RenderedParams(BaseModel):
    """The query of a rendered resource (PS3.18 8.3.5.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accept: str | None = Field(
        default=None,
        pattern=r"^(image/jpeg|image/png|image/\*|\*/\*)$",
        description="The media type, instead of the Accept header.",
    )
    window: str | None = Field(
        default=None,
        pattern=f"^{_CENTER},{_WIDTH}(,(LINEAR|LINEAR_EXACT|SIGMOID|linear|linear_exact|sigmoid))?$",
        description="center,width[,function]: the VOI window (default: the instance's).",
    )
    viewport: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,3},[1-9][0-9]{0,3}$",
        description="width,height in pixels the image must fit (aspect kept; default: full).",
    )
    quality: int = Field(default=90, ge=1, le=100, description="JPEG quality.")

    def rendering(self, media_type: str, *, thumbnail: bool = False) -> Rendering:
        window = None
        if self.window:
            parts = self.window.split(",")
            function = parts[2].upper() if len(parts) > 2 else "LINEAR"
            window = Window(float(parts[0]), float(parts[1]), function)  # type: ignore[arg-type]
        viewport = None
        if self.viewport:
            width, height = (int(v) for v in self.viewport.split(","))
            viewport = (width, height)
        elif thumbnail:
            viewport = (THUMBNAIL, THUMBNAIL)
        return Rendering(media_type, window, viewport, self.quality)  # type: ignore[arg-type]


def _where(request: ApiRequest) -> tuple[str, str | None, str | None]:
    params = request.path_params
    request.study_uid = params["study"]
    return params["study"], params.get("series"), params.get("sop")


def _root(ctx: Context, request: ApiRequest) -> str:
    return dicomweb_root(request.headers, ctx.name, ctx.settings.public_url)


def _accept(request: ApiRequest) -> str | None:
    return accept_of(dict(request.headers), dict(request.query))


# --- instances, series, studies -----------------------------------------------------------


def _dicom_syntax(accept: str | None, instances: list[Archived]) -> tuple[str | None, bool]:
    """The transfer syntax asked for (None: the default, ``*``: as stored) and whether the
    answer is multipart; 406 when no acceptable one suits every instance."""
    for media in parse_accept(accept):
        single = media.matches(DICOM) and media.media_type != "*/*" and len(instances) == 1
        multipart = media.media_type == "multipart/related" and media.part_type in (None, DICOM)
        if not (single or multipart or media.media_type in ("*/*", "multipart/*")):
            continue
        wanted = media.transfer_syntax
        if all(can_send(i.transfer_syntax, wanted) for i in instances):
            return wanted, not single
    raise NotAcceptable(accept or "", f"{MULTIPART_DICOM} (transfer-syntax=* or uncompressed)")


def _retrieve(ctx: Context, request: ApiRequest) -> Body:
    study, series, sop = _where(request)
    instances = catalog.archived(ctx.db, study, series, sop)
    wanted, multipart = _dicom_syntax(_accept(request), instances)
    root = _root(ctx, request)
    parts = []
    for instance in instances:
        data = ctx.store.get(ctx.settings.buckets.archive, instance.archive_key)
        content, syntax = instance_as(data, instance.transfer_syntax, wanted)
        location = instance_url(root, instance.study_uid, instance.series_uid, instance.sop_uid)
        parts.append(Part(f"{DICOM}; transfer-syntax={syntax}", content, location))
    if not multipart:
        return Body(parts[0].content, DICOM)
    return related(parts, DICOM)


_RETRIEVE = {**_READ, "media_types": (MULTIPART_DICOM,), "errors": (406,)}


@routes.get(_STUDY, **_RETRIEVE)
def wado_study(ctx: Context, request: ApiRequest) -> Body:
    """Retrieve every instance of a study."""
    return _retrieve(ctx, request)


@routes.get(_SERIES, **_RETRIEVE)
def wado_series(ctx: Context, request: ApiRequest) -> Body:
    """Retrieve every instance of a series."""
    return _retrieve(ctx, request)


@routes.get(_INSTANCE, **{**_RETRIEVE, "media_types": (MULTIPART_DICOM, DICOM)})
def wado_instance(ctx: Context, request: ApiRequest) -> Body:
    """Retrieve one instance (its archived Part 10 file with transfer-syntax=*)."""
    return _retrieve(ctx, request)


# --- metadata -----------------------------------------------------------------------------


def _metadata(ctx: Context, request: ApiRequest) -> Body:
    _wants_json(_accept(request))
    study, series, sop = _where(request)
    instances = catalog.archived(ctx.db, study, series, sop)
    found = instances_metadata(ctx, instances, _root(ctx, request))
    return Body(json.dumps(found, separators=(",", ":")).encode(), "application/dicom+json")


_METADATA = {**_READ, "media_types": ("application/dicom+json",), "errors": (406,)}


@routes.get(_STUDY + "/metadata", **_METADATA)
def wado_study_metadata(ctx: Context, request: ApiRequest) -> Body:
    """The metadata of every instance of a study (DICOM JSON, bulk data by URI)."""
    return _metadata(ctx, request)


@routes.get(_SERIES + "/metadata", **_METADATA)
def wado_series_metadata(ctx: Context, request: ApiRequest) -> Body:
    """The metadata of every instance of a series."""
    return _metadata(ctx, request)


@routes.get(_INSTANCE + "/metadata", **_METADATA)
def wado_instance_metadata(ctx: Context, request: ApiRequest) -> Body:
    """The metadata of one instance."""
    return _metadata(ctx, request)


# --- frames and bulk data -----------------------------------------------------------------


def _frame_choice(accept: str | None, stored: str) -> tuple[bool, str] | None:
    """(as stored?, part media type) for the first acceptable range; None if none is.

    ``application/octet-stream`` parts are uncompressed (no transfer-syntax, or Explicit VR
    Little Endian) or as stored (``transfer-syntax=*`` or the stored one); ``image/...``
    parts are a compressed frame as stored; ``*/*`` is uncompressed unless it names ``*``.
    """
    compressed = frame_media(stored)
    for media in parse_accept(accept):
        if media.media_type == "multipart/related" and media.part_type != "*/*":
            target = media.part_type or OCTETS
        elif media.media_type in ("*/*", "multipart/*", "multipart/related"):
            target = "*"
        else:
            target = media.media_type
        syntax = media.transfer_syntax
        if target in ("*", OCTETS) and syntax in ("*", stored):
            return True, OCTETS if target == OCTETS else compressed
        if target in ("*", OCTETS) and syntax in (None, EXPLICIT_LE):
            return False, OCTETS
        image = target == "image/*" or target == compressed
        if compressed != OCTETS and image and syntax in (None, "*", stored):
            return True, compressed
    return None


@routes.get(
    _FRAMES,
    **_READ,
    media_types=(MULTIPART_OCTETS, 'multipart/related; type="image/jp2"',
                 'multipart/related; type="image/jpeg"'),
    errors=(406,),
)  # fmt: skip
def wado_frames(ctx: Context, request: ApiRequest) -> Body:
    """Frames of an instance, as stored or uncompressed, by the Accept header."""
    study, series, sop = _where(request)
    (instance,) = catalog.archived(ctx.db, study, series, sop)
    numbers = [int(n) for n in request.path_params["frames"].split(",")]
    choice = _frame_choice(_accept(request), instance.transfer_syntax)
    if choice is None:
        raise NotAcceptable(
            _accept(request) or "",
            f"{MULTIPART_OCTETS} (uncompressed or transfer-syntax=*) or "
            f"{frame_media(instance.transfer_syntax)} as stored",
        )
    as_stored, part_type = choice
    ds = read(ctx.store.get(ctx.settings.buckets.archive, instance.archive_key))
    if as_stored:
        frames, syntax = frames_as_stored(ds, numbers), instance.transfer_syntax
    else:
        frames, syntax = frames_uncompressed(ds, numbers), EXPLICIT_LE
    where = instance_url(_root(ctx, request), study, str(series), str(sop))
    parts = [
        Part(f"{part_type}; transfer-syntax={syntax}", frame, f"{where}/frames/{n}")
        for n, frame in zip(numbers, frames, strict=True)
    ]
    return related(parts, part_type)


@routes.get(
    _INSTANCE + "/bulkdata/<tagpath:path>",
    **_READ,
    media_types=(MULTIPART_OCTETS, OCTETS),
    errors=(406,),
)
def wado_bulkdata(ctx: Context, request: ApiRequest) -> Body:
    """A bulk data element of an instance, as its metadata's BulkDataURI names it."""
    study, series, sop = _where(request)
    (instance,) = catalog.archived(ctx.db, study, series, sop)
    accept = _accept(request)
    chosen = next(
        (m for m in parse_accept(accept)
         if m.matches(OCTETS) or m.media_type in ("multipart/related", "*/*")),
        None,
    )  # fmt: skip
    if chosen is None or (chosen.part_type not in (None, OCTETS, "*/*", "application/*")):
        raise NotAcceptable(accept or "", MULTIPART_OCTETS)
    value, _vr = bulk_value(ctx, instance, request.path_params["path"])
    if chosen.media_type == OCTETS:
        return Body(value, OCTETS)
    return related([Part(OCTETS, value)], OCTETS)


# --- rendered and thumbnails --------------------------------------------------------------


def _rendered(ctx: Context, request: ApiRequest, *, thumbnail: bool = False) -> Body:
    params = request.params
    assert isinstance(params, RenderedParams)
    study, series, sop = _where(request)
    instance = catalog.first_image(catalog.archived(ctx.db, study, series, sop))
    frames = request.path_params.get("frames")
    numbers = [int(n) for n in frames.split(",")] if frames else [1]
    if len(numbers) > 1:
        raise ApiError(400, "invalid-path", "a rendered frame is one frame, not a list")
    media = pick_image(params.accept or _accept(request), FORMATS)
    how = params.rendering(media, thumbnail=thumbnail)
    return Body(rendered_image(ctx, instance, numbers[0], how), media)


def rendered_image(
    ctx: Context,
    instance: Archived,
    frame: int,
    how: Rendering,
    heatmap: bytes | None = None,
    heatmap_key: str | None = None,
) -> bytes:
    """Frame ``frame`` of ``instance`` rendered, from the cache when it holds it."""
    cache = Cache(ctx, "rendered")
    key = how.key(instance.sop_uid, instance.sha256, frame, heatmap_key)
    cached = cache.get(key)
    if cached is not None:
        return cached
    ds = read(ctx.store.get(ctx.settings.buckets.archive, instance.archive_key))
    image, _size = render(ds, frame, how, heatmap)
    cache.put(key, image)
    return image


_RENDERED = {
    **_READ,
    "query": RenderedParams,
    "media_types": FORMATS,
    "errors": (406,),
}


@routes.get(_STUDY + "/rendered", **_RENDERED)
def wado_study_rendered(ctx: Context, request: ApiRequest) -> Body:
    """The study's first image, rendered (window, viewport, quality)."""
    return _rendered(ctx, request)


@routes.get(_SERIES + "/rendered", **_RENDERED)
def wado_series_rendered(ctx: Context, request: ApiRequest) -> Body:
    """The series' first image, rendered."""
    return _rendered(ctx, request)


@routes.get(_INSTANCE + "/rendered", **_RENDERED)
def wado_instance_rendered(ctx: Context, request: ApiRequest) -> Body:
    """The instance's first frame, rendered."""
    return _rendered(ctx, request)


@routes.get(_FRAMES + "/rendered", **_RENDERED)
def wado_frame_rendered(ctx: Context, request: ApiRequest) -> Body:
    """One frame, rendered."""
    return _rendered(ctx, request)


@routes.get(_STUDY + "/thumbnail", **_RENDERED)
def wado_study_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """A small picture of the study (its first image; 128 pixels unless a viewport is given)."""
    return _rendered(ctx, request, thumbnail=True)


@routes.get(_SERIES + "/thumbnail", **_RENDERED)
def wado_series_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """A small picture of the series."""
    return _rendered(ctx, request, thumbnail=True)


@routes.get(_INSTANCE + "/thumbnail", **_RENDERED)
def wado_instance_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """A small picture of the instance."""
    return _rendered(ctx, request, thumbnail=True)


@routes.get(_FRAMES + "/thumbnail", **_RENDERED)
def wado_frame_thumbnail(ctx: Context, request: ApiRequest) -> Body:
    """A small picture of one frame."""
    return _rendered(ctx, request, thumbnail=True)
