"""The built web app as files: what the gateway answers for every path that is not its own.

The folder (``ACME_WEB_DIR``, ``web/dist``) holds the SPA, whose build names every asset by
its content (``assets/index-3f9a1c.js``), and OHIF's prebuilt viewer under ``viewer/``.

| what | ``Cache-Control`` |
|---|---|
| ``assets/...`` (content-hashed names) | ``public, max-age=31536000, immutable`` |
| ``index.html`` and every other file | ``no-cache``: revalidated each time (``ETag``, 304) |

A browser asking for a page (``Accept: text/html``) that is not a file gets the app's
``index.html`` (the SPA's own routing, ``/study/1.2.840...``), or, under ``viewer/``, OHIF's
(``/viewer/viewer?StudyInstanceUIDs=...``). Pages also say ``frame-ancestors 'none'`` (no
framing by another site) and ``no-referrer`` (a study UID in the address stays here).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

__all__ = ["IMMUTABLE", "REVALIDATE", "WebApp"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HASHED = "assets/"
_APPS = ("viewer/",)
"""Folders holding an app of their own, with its own ``index.html`` for its routes."""
_PAGE_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class WebApp:
    """Serves ``root``: files with their caching, pages through the app's ``index.html``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def serve(self, request: Request) -> Response:
        root = self._root.resolve()
        index = root / "index.html"
        if not index.is_file():
            return JSONResponse(
                {"error": f"the web app is not built: no {index} (ACME_WEB_DIR)"}, status_code=404
            )
        wanted = str(request.path_params.get("path", "")) or "index.html"
        target = (root / wanted).resolve()
        if target.is_relative_to(root) and target.is_file():
            return _file(request, target, wanted)
        if "text/html" in request.headers.get("accept", ""):  # a page of the app's own routing
            app = next((a for a in _APPS if wanted.startswith(a)), "")
            page = root / app / "index.html"
            return _file(request, page if page.is_file() else index, app + "index.html")
        return JSONResponse({"error": f"no file /{wanted}"}, status_code=404)


def _file(request: Request, path: Path, name: str) -> Response:
    """``path`` with its caching; 304 when the client's ``If-None-Match`` names its ETag."""
    headers = {"Cache-Control": IMMUTABLE if name.startswith(_HASHED) else REVALIDATE}
    if name.endswith(".html"):
        headers |= _PAGE_HEADERS
    response = FileResponse(path, headers=headers, stat_result=os.stat(path))
    etag = response.headers.get("etag", "")
    seen = request.headers.get("if-none-match", "")
    if etag and etag in (tag.strip().removeprefix("W/") for tag in seen.split(",")):
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "cache-control")}
        return Response(status_code=304, headers=kept)
    return response
