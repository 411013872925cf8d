"""The HTTP layer's options: path converters, repeated query parameters, 400 for invalid
queries, bodies by media type, other success statuses, CORS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import flask
import pytest
from pydantic import BaseModel, ConfigDict, Field

from acme.auth._principal import Principal, Unauthenticated
from acme.function import Context
from acme.http import ApiRequest, Body, HttpApi, dispatcher_for
from acme.settings import Settings


class Anyone:
    def authenticate(self, authorization: str | None) -> Principal:
        if authorization != "Bearer ok":
            raise Unauthenticated("no valid bearer token")
        return Principal("dr-ok", frozenset({"radiologist"}))

    def allows(self, principal: Principal, permission: str) -> bool:
        return True


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: list[str] = Field(default_factory=list)
    limit: int = Field(default=1, ge=1, le=10)


api = HttpApi("things", title="Things", invalid_query=400)


@api.get("/things/<uid:thing>/frames/<frames:numbers>", permission="p", phi=False)
def frames(ctx: Context, request: ApiRequest) -> Body:
    """Frames of a thing."""
    return Body(f"{request.path_params['thing']}|{request.path_params['numbers']}".encode(), "t/x")


@api.get("/things/<uid:thing>/bulk/<tagpath:path>", permission="p", phi=False)
def bulk(ctx: Context, request: ApiRequest) -> Body:
    """A bulk element."""
    return Body(request.path_params["path"].encode(), "t/x")


@api.get("/search", permission="p", phi=False, query=Filters)
def search(ctx: Context, request: ApiRequest) -> Body:
    """Search."""
    assert isinstance(request.params, Filters)
    return Body(",".join(request.params.tag).encode(), "t/x")


@api.post(
    "/upload", permission="p", phi=False, accepts=("multipart/related",), answers=(202,),
    media_types=("t/x",),
)  # fmt: skip
def upload(ctx: Context, request: ApiRequest) -> Body:
    """Upload."""
    return Body(request.content[::-1], "t/x", status=202)


@api.get("/secret", permission="p", phi=True, media_types=("t/x",))
def secret(ctx: Context, request: ApiRequest) -> Body:
    """Protected health information."""
    return Body(b"phi", "t/x")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = Context.open("things", settings)
    yield dataclasses.replace(
        context, settings=settings.model_copy(update={"cors_origins": "https://spa.example"})
    )
    context.close()


def call(ctx: Context, method: str, path: str, **kw: object) -> flask.Response:
    headers = {"Authorization": "Bearer ok", **kw.pop("headers", {})}  # type: ignore[dict-item]
    app = flask.Flask("test")
    with app.test_request_context(path, method=method, headers=headers, **kw):  # type: ignore[arg-type]
        return dispatcher_for(api, Anyone())(ctx, flask.request)


def test_converters_match_uids_frame_lists_and_tag_paths(ctx: Context) -> None:
    assert call(ctx, "GET", "/things/1.2.3/frames/1,2,30").data == b"1.2.3|1,2,30"
    for bad in ("/things/1..2/frames/1", "/things/a.b/frames/1", "/things/1.2/frames/0",
                f"/things/{'1' * 65}/frames/1", "/things/1.2/frames/1,,2"):  # fmt: skip
        assert call(ctx, "GET", bad).status_code == 404, bad
    assert call(ctx, "GET", "/things/1.2/bulk/00540016/0/00181072").data == b"00540016/0/00181072"
    assert call(ctx, "GET", "/things/1.2/bulk/7fe00010/x").status_code == 404


def test_the_document_declares_the_converters_patterns_and_the_body() -> None:
    document = api.openapi()
    (uid, numbers) = document["paths"]["/things/{thing}/frames/{numbers}"]["get"]["parameters"]
    assert uid["schema"]["maxLength"] == 64 and uid["schema"]["pattern"].startswith("^[0-9]")
    assert numbers["schema"]["pattern"].startswith("^[1-9]")
    post = document["paths"]["/upload"]["post"]
    assert list(post["requestBody"]["content"]) == ["multipart/related"]
    assert {"202", "415"} <= set(post["responses"])
    assert "400" in document["paths"]["/search"]["get"]["responses"]
    assert "422" not in document["paths"]["/search"]["get"]["responses"]


def test_a_list_field_takes_every_value_and_bad_queries_are_400(ctx: Context) -> None:
    assert call(ctx, "GET", "/search?tag=a&tag=b").data == b"a,b"
    answer = call(ctx, "GET", "/search?limit=99")
    assert answer.status_code == 400 and "limit" in answer.get_json()["detail"]


def test_a_body_is_taken_by_its_media_type(ctx: Context) -> None:
    answer = call(
        ctx,
        "POST",
        "/upload",
        data=b"abc",
        headers={"Content-Type": "multipart/related; boundary=x"},
    )
    assert answer.status_code == 202 and answer.data == b"cba"
    refused = call(ctx, "POST", "/upload", data=b"abc", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415 and "multipart/related" in refused.get_json()["detail"]


def test_cors_preflight_and_answers_for_the_configured_origin(ctx: Context) -> None:
    app = flask.Flask("test")
    headers = {"Origin": "https://spa.example", "Access-Control-Request-Method": "GET"}
    with app.test_request_context("/search", method="OPTIONS", headers=headers):
        preflight = dispatcher_for(api, Anyone())(ctx, flask.request)  # no token
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    answer = call(ctx, "GET", "/search", headers={"Origin": "https://spa.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    assert "Origin" in answer.headers["Vary"]
    other = call(ctx, "GET", "/search", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_platforms_sharing_a_redis_count_unauthenticated_attempts_apart(ctx: Context) -> None:
    def anonymous(prefix: str) -> int:
        update = {"audit_anonymous_limit": 1, "bucket_prefix": prefix}
        platform = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update=update))
        app = flask.Flask("test")
        with app.test_request_context("/secret", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
            return dispatcher_for(api, Anyone())(platform, flask.request).status_code

    first = f"a{ctx.settings.bucket_prefix}"
    second = f"b{ctx.settings.bucket_prefix}"
    assert [anonymous(first), anonymous(first)] == [401, 429]
    assert anonymous(second) == 401  # another platform's limit is its own
