"""The built web app: hashed assets cached for good, pages revalidated, each app's fallback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from acme.runtime.webapp import IMMUTABLE, REVALIDATE, WebApp

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def _get(root: Path, *requests: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    app = Starlette(routes=[Route("/{path:path}", WebApp(root).serve, methods=["GET", "HEAD"])])

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return [await client.get(path, headers=headers) for path, headers in requests]

    return asyncio.run(send())


def _built(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "viewer").mkdir()
    (root / "index.html").write_text("<html>spa</html>")
    (root / "favicon.svg").write_text("<svg/>")
    (root / "assets" / "index-3f9a1c.js").write_text("spa()")
    (root / "viewer" / "index.html").write_text("<html>ohif</html>")
    (root / "viewer" / "app-config.js").write_text("window.config = {}")
    return root


def test_hashed_assets_are_immutable_and_everything_else_revalidated(tmp_path: Path) -> None:
    root = _built(tmp_path / "dist")
    asset, index, icon, config = _get(
        root,
        ("/assets/index-3f9a1c.js", {}),
        ("/", PAGE),
        ("/favicon.svg", {}),
        ("/viewer/app-config.js", {}),
    )
    assert asset.text == "spa()" and asset.headers["cache-control"] == IMMUTABLE
    assert index.text == "<html>spa</html>" and index.headers["cache-control"] == REVALIDATE
    assert icon.headers["cache-control"] == config.headers["cache-control"] == REVALIDATE
    assert index.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert index.headers["referrer-policy"] == "no-referrer"


def test_a_revalidated_file_unchanged_is_a_304(tmp_path: Path) -> None:
    root = _built(tmp_path / "dist")
    (first,) = _get(root, ("/", PAGE))
    etag = first.headers["etag"]
    again, other = _get(
        root, ("/", {**PAGE, "If-None-Match": etag}), ("/", {"If-None-Match": '"x", W/"y"'})
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert other.status_code == 200 and other.text == "<html>spa</html>"


def test_pages_fall_back_to_their_apps_index(tmp_path: Path) -> None:
    root = _built(tmp_path / "dist")
    study, viewer, script = _get(
        root,
        ("/study/1.2.840.1", PAGE),
        ("/viewer/viewer?StudyInstanceUIDs=1.2.840.1", PAGE),
        ("/assets/gone.js", {}),
    )
    assert study.text == "<html>spa</html>" and study.headers["cache-control"] == REVALIDATE
    assert viewer.text == "<html>ohif</html>" and viewer.headers["cache-control"] == REVALIDATE
    assert script.status_code == 404 and script.json() == {"error": "no file /assets/gone.js"}


def test_a_missing_page_is_never_cached_for_good(tmp_path: Path) -> None:
    root = _built(tmp_path / "dist")
    (page,) = _get(root, ("/assets/not-a-file", PAGE))  # a page under assets/: the SPA's index
    assert page.text == "<html>spa</html>" and page.headers["cache-control"] == REVALIDATE
