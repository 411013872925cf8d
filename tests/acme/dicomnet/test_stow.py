"""The STOW-RS sender against a small HTTP service: one request per call, whatever fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseRequestHandler, ThreadingTCPServer

import pytest
from dicomfiles import fresh_cxr

from acme.dicomnet.destinations import DicomwebDestination
from acme.dicomnet.senders import SendError
from acme.dicomnet.stow import StowSender


class _Unavailable(BaseHTTPRequestHandler):
    """Answers every request 503 Service Unavailable (a PACS restarting)."""

    def _refuse(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _refuse

    def log_message(self, *_: object) -> None:
        pass


class _HangsUp(BaseRequestHandler):
    """Accepts the connection and closes it unanswered (a proxy whose backend is gone)."""

    def handle(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]


@contextmanager
def _serving(server: ThreadingTCPServer) -> Iterator[str]:
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/dicom-web"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def unavailable() -> Iterator[tuple[str, ThreadingTCPServer]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    with _serving(server) as url:
        yield url, server


@pytest.fixture
def hangs_up() -> Iterator[tuple[str, ThreadingTCPServer]]:
    server = ThreadingTCPServer(("127.0.0.1", 0), _HangsUp)
    with _serving(server) as url:
        yield url, server


def _sender(url: str) -> StowSender:
    return StowSender("backup", DicomwebDestination(type="dicomweb", url=url, send_on=("drafted",)))


def test_a_service_unavailable_fails_the_send_after_one_request(
    unavailable: tuple[str, ThreadingTCPServer],
) -> None:
    url, server = unavailable
    with pytest.raises(SendError, match="destination 'backup': STOW-RS failed: HTTP 503"):
        _sender(url).send([fresh_cxr()])
    assert server.requests == 1, "the router's retry policy is the only one"  # type: ignore[attr-defined]


def test_a_connection_closed_unanswered_fails_the_send_and_the_echo_at_once(
    hangs_up: tuple[str, ThreadingTCPServer],
) -> None:
    url, server = hangs_up
    with pytest.raises(SendError, match="STOW-RS failed: ConnectionError"):
        _sender(url).send([fresh_cxr()])
    with pytest.raises(SendError, match="QIDO-RS query failed: ConnectionError"):
        _sender(url).echo()
    assert server.requests == 2, "one connection per call"  # type: ignore[attr-defined]
