"""The change feed over HTTP: ``GET /changes?since=SEQ&limit=N`` and ``GET /changes/latest``
(:mod:`acme.feed` has the format and the sequence semantics), and ``GET /worklist/latest``,
the newest sequence alone, which the clinicians' worklist polls to know when to refresh."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from acme import feed
from acme.auth import Permission
from acme.feed import ChangeEntry
from acme.function import Context
from acme.http import ApiError, ApiRequest
from worklist.routes import routes


class ChangesParams(BaseModel):
    """``GET /changes`` query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: int = Field(
        default=0, ge=0, le=2**62, description="The last sequence already processed (0: all)."
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Most entries answered.")


class ChangePage(BaseModel):
    """Entries after ``since``, in sequence order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: list[ChangeEntry]
    since: int
    next: int = Field(description="Pass as since to read on: the last sequence answered.")
    latest: int = Field(description="The feed's highest sequence (0 while it is empty).")


class LatestChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sequence: int = Field(description="The feed's highest sequence (0 while it is empty).")
    entry: ChangeEntry | None


@routes.get(
    "/changes",
    permission=Permission.CHANGES_READ,
    phi=True,
    query=ChangesParams,
    response=ChangePage,
)
def read_changes(ctx: Context, request: ApiRequest) -> ChangePage:
    """Change-feed entries after a sequence number, in order.

    Gap-free and in commit order: a consumer that stores the last sequence it processed and
    asks again with it as ``since`` receives exactly the entries that followed.
    """
    params = request.params
    if not isinstance(params, ChangesParams):
        raise ApiError(400, "invalid-query", "expected since and limit")
    entries = feed.changes(ctx.db, since=params.since, limit=params.limit)
    newest = feed.latest(ctx.db)
    return ChangePage(
        entries=entries,
        since=params.since,
        next=entries[-1].sequence if entries else params.since,
        latest=newest.sequence if newest else 0,
    )


@routes.get("/changes/latest", permission=Permission.CHANGES_READ, phi=True, response=LatestChange)
def latest_change(ctx: Context, request: ApiRequest) -> LatestChange:
    """The newest change-feed entry (sequence 0 and no entry while the feed is empty)."""
    newest = feed.latest(ctx.db)
    return LatestChange(sequence=newest.sequence if newest else 0, entry=newest)


class FeedPosition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sequence: int = Field(description="The feed's highest sequence (0 while it is empty).")


@routes.get("/worklist/latest", permission=Permission.STUDIES_READ, phi=True, response=FeedPosition)
def worklist_position(ctx: Context, request: ApiRequest) -> FeedPosition:
    """The change feed's newest sequence, for a worklist to refresh itself when it moves.

    Needs only ``studies:read`` and tells nothing but a number: clinicians' screens follow
    the feed without the upload keys and rejections its entries carry (``changes:read``).
    """
    newest = feed.latest(ctx.db)
    return FeedPosition(sequence=newest.sequence if newest else 0)
