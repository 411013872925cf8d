"""The gateway: one port for the web app, the functions, ``/metrics`` and ``/healthz``.

- ``/function/<name>/<path>``: any method, proxied as a stream (headers, query and body
  untouched but for hop-by-hop headers) to the function's ``/<path>``, as OpenFaaS does. A
  scaled-to-zero function is started first and the request waits for it. Unknown function:
  404; a function that cannot start or fails mid-request: 502; too slow: 504 — each a JSON
  ``{"error": ..., "function": ...}``.
- ``/healthz``: JSON with every server's and every function's state; 503 while the platform is
  starting (until bucket notifications are received and the DICOM receiver listens) or when a
  server is down.
- ``/metrics``: the Prometheus text of the runtime's registry.
- ``/.well-known/jwks.json``: the public keys of the local token issuer (``jwks_file``, see
  :func:`acme.auth.served_jwks_file`); 404 when tokens come from a hospital provider.
- ``/auth/config``, ``/auth/local/token``: how the web app logs in (:mod:`acme.runtime.login`).
- anything else: the built web app (``ACME_WEB_DIR``) with its caching and page fallback
  (:mod:`acme.runtime.webapp`); a 404 JSON error when the app is not built.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote_to_bytes

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from acme.runtime.forwarding import CLIENT_HEADERS, Forwarding
from acme.runtime.functions import (
    Activator,
    FunctionStartError,
    FunctionStartTimeout,
    FunctionStatus,
    UnknownFunction,
)
from acme.runtime.login import WebLogin
from acme.runtime.metrics import CONTENT_TYPE, RuntimeMetrics
from acme.runtime.webapp import WebApp
from acme.stack.status import ServerHealth

__all__ = ["FunctionDirectory", "Gateway", "ServerProbe", "UnforwardablePath", "forward_path"]

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "trailers", "transfer-encoding", "upgrade", "host"}
)  # fmt: skip

ServerProbe = Callable[[], Awaitable[Sequence[ServerHealth]]]


class FunctionDirectory(Activator, Protocol):
    """What the gateway needs of the function pool: leases and each function's state."""

    def status(self) -> list[FunctionStatus]: ...


class Gateway:
    """The ASGI app (``.app``) behind the gateway port."""

    def __init__(
        self,
        functions: FunctionDirectory,
        *,
        metrics: RuntimeMetrics,
        web_dir: Path,
        servers: ServerProbe,
        function_timeout: float,
        forwarding: Forwarding,
        http: httpx.AsyncClient | None = None,
        jwks_file: Path | None = None,
        login: WebLogin | None = None,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self._functions = functions
        self._ready = ready
        self._metrics = metrics
        self._web = WebApp(web_dir)
        self._servers = servers
        self._timeout = httpx.Timeout(function_timeout, connect=5.0)
        self._http = http
        self._jwks_file = jwks_file
        self._forwarding = forwarding
        logins = []
        if login is not None:
            logins = [
                Route("/auth/config", login.config, methods=["GET"]),
                Route("/auth/local/token", login.local_token, methods=["POST"]),
            ]
        self.app = Starlette(
            routes=[
                *logins,
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/metrics", self._metrics_text, methods=["GET"]),
                Route("/.well-known/jwks.json", self._jwks, methods=["GET"]),
                Route("/function/{name}", self._proxy, methods=METHODS),
                Route("/function/{name}/{path:path}", self._proxy, methods=METHODS),
                Route("/{path:path}", self._web.serve, methods=["GET", "HEAD"]),
            ],
            exception_handlers={404: self._unrouted, 405: self._unrouted},
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self._http is not None:
            yield
            return
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
            self._http = client
            try:
                yield
            finally:
                self._http = None

    async def _healthz(self, _request: Request) -> Response:
        servers = await self._servers()
        healthy = all(server.healthy for server in servers)
        ready = self._ready()
        body = {
            "status": ("ok" if ready else "starting") if healthy else "degraded",
            "ready": ready,
            "servers": [server.model_dump(mode="json") for server in servers],
            "functions": [fn.model_dump(mode="json") for fn in self._functions.status()],
        }
        return JSONResponse(body, status_code=200 if healthy and ready else 503)

    async def _metrics_text(self, _request: Request) -> Response:
        return Response(self._metrics.render(), media_type=CONTENT_TYPE)

    async def _jwks(self, _request: Request) -> Response:
        if self._jwks_file is None:
            message = "no local token issuer: keys come from ACME_AUTH_JWKS_URL or _FILE"
            return JSONResponse({"error": message}, status_code=404)
        try:
            content = self._jwks_file.read_bytes()
        except OSError as exc:
            message = f"the local JWKS {self._jwks_file} cannot be read ({exc.strerror})"
            return JSONResponse({"error": message}, status_code=503)
        headers = {"Cache-Control": "public, max-age=300"}
        return Response(content, media_type="application/jwk-set+json", headers=headers)

    async def _proxy(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        began = time.monotonic()
        try:
            path = forward_path(request.scope.get("raw_path") or request.url.path.encode(), name)
        except UnforwardablePath as exc:
            return self._failed("_refused", began, "bad_path", 400, str(exc), shown=name)
        known = {fn.name: fn for fn in self._functions.status() if fn.kind == "function"}
        if name in known and known[name].signature != "http":
            message = (
                f"{name!r} takes events, not requests: only the platform delivers to it "
                "(HTTP functions are served here)"
            )
            return self._failed("_refused", began, "not_http", 404, message, shown=name)
        exits = contextlib.AsyncExitStack()
        try:
            base = await exits.enter_async_context(self._functions.lease(name))
        except UnknownFunction as exc:
            return self._failed("_unknown", began, "unknown_function", 404, str(exc), shown=name)
        except FunctionStartTimeout as exc:
            return self._failed(name, began, "start_timeout", 504, str(exc))
        except FunctionStartError as exc:
            return self._failed(name, began, "start_failed", 502, str(exc))
        try:
            upstream = await self._send(request, base, name, path)
        except httpx.TimeoutException:
            await exits.aclose()
            message = f"function {name!r} did not answer in time (ACME_FUNCTION_TIMEOUT)"
            return self._failed(name, began, "timeout", 504, message)
        except httpx.HTTPError as exc:
            await exits.aclose()
            message = f"function {name!r} failed: {type(exc).__name__}: {exc}"
            return self._failed(name, began, "unreachable", 502, message)
        exits.push_async_callback(upstream.aclose)
        response = StreamingResponse(
            self._relay(upstream, exits, name, began), status_code=upstream.status_code
        )
        response.raw_headers = [
            (key, value)
            for key, value in upstream.headers.raw
            if key.decode().lower() not in _HOP_BY_HOP
        ]
        return response

    async def _send(self, request: Request, base: str, name: str, path: str) -> httpx.Response:
        assert self._http is not None, "the gateway is not started"
        headers = [
            (key, value)
            for key, value in request.headers.raw
            if key.decode("latin-1").lower() not in _HOP_BY_HOP | CLIENT_HEADERS
        ]
        peer = request.client.host if request.client is not None else None
        client = self._forwarding.client(peer, request.headers)
        headers += self._forwarding.headers(
            name, client, host=request.headers.get("host", ""), proto=request.url.scheme
        )
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        url = httpx.URL(base).copy_with(raw_path=path.encode() + _query(request))
        upstream = self._http.build_request(
            request.method,
            url,
            headers=headers,
            content=request.stream() if has_body else None,
            timeout=self._timeout,
        )
        return await self._http.send(upstream, stream=True)

    async def _relay(
        self,
        upstream: httpx.Response,
        exits: contextlib.AsyncExitStack,
        name: str,
        began: float,
    ) -> AsyncIterator[bytes]:
        """The function's answer, chunk by chunk; the lease ends when it is sent."""
        outcome = "incomplete"
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
            outcome = "ok"
        finally:
            await exits.aclose()
            self._metrics.proxied.labels(name, outcome).observe(time.monotonic() - began)

    def _failed(
        self, name: str, began: float, outcome: str, status: int, message: str, *, shown: str = ""
    ) -> Response:
        """A JSON error as functions answer them (``error`` code, ``detail``) naming the
        function; ``shown`` is the requested name when it is not a metric label."""
        self._metrics.proxied.labels(name, outcome).observe(time.monotonic() - began)
        body = {"error": outcome.replace("_", "-"), "detail": message, "function": shown or name}
        return JSONResponse(body, status_code=status)

    async def _unrouted(self, request: Request, exc: Exception) -> Response:
        """JSON for a request no route takes: 400 for a function path that cannot be
        forwarded (a control character matches no route), else 404 or 405 with ``Allow``."""
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        if raw_path.startswith(b"/function/"):
            shown = unquote_to_bytes(raw_path.split(b"/")[2]).decode("utf-8", "replace")
            try:
                forward_path(raw_path, shown)
            except UnforwardablePath as refused:
                return self._failed("_refused", time.monotonic(), "bad_path", 400, str(refused))
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        headers = exc.headers if isinstance(exc, HTTPException) else None
        error = "method-not-allowed" if status == 405 else "not-found"
        detail = f"{request.method} {request.url.path!r}: no such route on the gateway"
        return JSONResponse({"error": error, "detail": detail}, status, headers=headers)


class UnforwardablePath(ValueError):
    """A request path the gateway will not pass on; the message says why."""


_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"


def forward_path(raw_path: bytes, name: str) -> str:
    """The path to request from function ``name`` for a gateway path, canonically encoded.

    ``raw_path`` is the request's path as sent (percent-encoded). Each segment after
    ``/function/<name>`` is decoded; a segment that is not UTF-8, holds a control character
    or an encoded ``/`` or ``\\``, or is ``.`` or ``..`` makes the path
    :class:`UnforwardablePath` (the gateway answers 400 naming the reason).
    """
    prefix = f"/function/{name}".encode()
    if not raw_path.startswith(prefix) or raw_path[len(prefix) : len(prefix) + 1] not in b"/":
        raise UnforwardablePath("the function name must be written as it is, not percent-encoded")
    rest = raw_path[len(prefix) :]
    segments = []
    for position, raw in enumerate(rest.split(b"/")[1:], start=1):
        decoded = unquote_to_bytes(raw)
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            raise UnforwardablePath(f"path segment {position} is not UTF-8") from None
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
            raise UnforwardablePath(f"path segment {position} holds a control character")
        if "/" in text or "\\" in text:
            raise UnforwardablePath(f"path segment {position} holds an encoded slash")
        if text in (".", ".."):
            raise UnforwardablePath(f"path segment {position} is {text!r}")
        segments.append(quote(text, safe=_SEGMENT_SAFE))
    return "/" + "/".join(segments)


def _query(request: Request) -> bytes:
    raw = request.scope.get("query_string") or b""
    return b"?" + raw if raw else b""
