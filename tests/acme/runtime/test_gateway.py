"""The gateway in front of real function processes: proxying, cold starts, errors, metrics."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from delivery import unused_signer
from loops import run

from acme.auth import DeliverySigner, DeliveryVerifier, Unauthenticated
from acme.runtime.app import Runtime
from acme.runtime.forwarding import Forwarding
from acme.runtime.functions import FunctionStatus
from acme.runtime.gateway import Gateway
from acme.runtime.metrics import RuntimeMetrics
from acme.runtime.stackfile import load_stack
from acme.settings import load_settings
from acme.stack.status import ServerHealth

TEST_STACK = Path(__file__).resolve().parents[2] / "fixtures" / "functions" / "stack.yml"


async def fake_servers() -> Sequence[ServerHealth]:
    return [ServerHealth(name="nats", url="nats://x", managed=False, healthy=True, detail="ok")]


@pytest.fixture(scope="module")
def runtime(
    loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    home = tmp_path_factory.mktemp("gateway") / "home"
    settings = load_settings(home=home, gateway_port=0, function_timeout=1.5)
    runtime = Runtime(
        settings,
        load_stack(TEST_STACK),
        output=lambda _name, _line: None,
        inherited_env=os.environ,
        with_events=False,
        servers=fake_servers,
    )
    run(loop, runtime.start())
    yield runtime
    run(loop, runtime.stop())
    assert [s.pid for s in runtime.pool.status() if s.pid is not None] == []


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runtime.url, timeout=30) as client:
        yield client


def _function(client: httpx.Client, name: str) -> dict[str, Any]:
    health = client.get("/healthz").json()
    return next(f for f in health["functions"] if f["name"] == name)


def _wait_stopped(client: httpx.Client, name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while _function(client, name)["state"] != "stopped":
        assert time.monotonic() < deadline, f"{name} did not scale to zero"
        time.sleep(0.1)


def test_proxies_method_path_query_headers_and_body(client: httpx.Client) -> None:
    answer = client.put(
        "/function/echo/studies/1.2.3",
        params=[("state", "complete"), ("state", "signed")],
        headers={"Authorization": "Bearer abc.def.ghi", "X-Request-Id": "r-1"},
        content=b'{"note": "first read"}',
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    echoed = answer.json()
    assert echoed["method"] == "PUT"
    assert echoed["path"] == "/studies/1.2.3"
    assert echoed["query"] == "state=complete&state=signed"
    assert echoed["body"] == '{"note": "first read"}'
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert headers["authorization"] == "Bearer abc.def.ghi"
    assert headers["x-request-id"] == "r-1"
    assert headers["x-forwarded-prefix"] == "/function/echo"
    assert headers["x-forwarded-for"] == "127.0.0.1"


def test_forwarding_headers_are_the_gateways_own_and_vouched_for(
    client: httpx.Client, runtime: Runtime
) -> None:
    forged = {
        "X-Forwarded-For": "10.66.66.66",
        "Forwarded": "for=10.66.66.67",
        "X-Real-IP": "10.66.66.68",
        "X-Acme-Forwarded": "forged.token.value",
    }
    echoed = client.get("/function/echo/", headers=forged).json()
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert headers["x-forwarded-for"] == "127.0.0.1"  # replaced, not appended to
    assert "forwarded" not in headers and "x-real-ip" not in headers
    verifier = DeliveryVerifier.from_settings(runtime.settings, "echo")
    claims = verifier.verify(f"Bearer {headers['x-acme-forwarded']}", use="forwarded")
    assert claims["client_ip"] == "127.0.0.1"
    with pytest.raises(Unauthenticated, match="cannot deliver events"):
        verifier.verify(f"Bearer {headers['x-acme-forwarded']}")  # never a delivery token


def test_a_trusted_proxy_names_the_client(
    runtime: Runtime, loop: asyncio.AbstractEventLoop
) -> None:
    signer = DeliverySigner.from_settings(runtime.settings, subject="t")

    async def fetch(headers: dict[str, str]) -> dict[str, str]:
        async with httpx.AsyncClient() as upstream:
            gateway = Gateway(
                runtime.pool, metrics=RuntimeMetrics(), web_dir=Path("/nonexistent"),
                servers=fake_servers, function_timeout=5, http=upstream,
                forwarding=Forwarding([ip_network("127.0.0.0/8")], signer),
            )  # fmt: skip
            transport = httpx.ASGITransport(gateway.app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as web:
                answer = await web.get("/function/echo/", headers=headers)
        return {k.lower(): v for k, v in answer.json()["headers"].items()}

    proxied = run(loop, fetch({"X-Forwarded-For": "10.66.66.66, 127.0.0.2"}))
    assert proxied["x-forwarded-for"] == "10.66.66.66"
    standard = run(loop, fetch({"Forwarded": 'for="[2001:db8::7]:4711";proto=https'}))
    assert standard["x-forwarded-for"] == "2001:db8::7"
    garbage = run(loop, fetch({"X-Forwarded-For": "10.1.1.1, not-an-address"}))
    assert garbage["x-forwarded-for"] == "127.0.0.1"  # the walk stops at the last proxy


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/function/echo/reports/1/versions/%3C%0C%28/report.html", "control character"),
        ("/function/echo/a/%2e%2e/secret", "is '..'"),
        ("/function/echo/%ff%fe", "not UTF-8"),
        ("/function/echo/a%2Fb", "encoded slash"),
        ("/function/ech%6f/x", "not percent-encoded"),
        ("/function/echo/a%0Ab", "control character"),  # a newline matches no route at all
        ("/function/echo/%0D%0A", "control character"),
        ("/function/ec%0Aho/x", "not percent-encoded"),
    ],
)
def test_paths_it_cannot_forward_are_a_json_400(
    client: httpx.Client, path: str, reason: str
) -> None:
    answer = client.get(httpx.URL(client.base_url.join("/")).copy_with(raw_path=path.encode()))
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad-path" and reason in answer.json()["detail"]


def test_streams_a_large_chunked_body(client: httpx.Client) -> None:
    chunk = b"0123456789abcdef" * 4096

    def body() -> Iterator[bytes]:
        for _ in range(32):  # 2 MiB, sent chunked (no Content-Length)
            yield chunk

    answer = client.post("/function/echo/", content=body())
    assert answer.status_code == 200
    assert len(answer.json()["body"]) == 32 * len(chunk)


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [("POST", "/healthz", 405, "method-not-allowed"), ("GET", "/a%0Ab", 404, "not-found")],
)
def test_requests_no_route_takes_get_json(
    client: httpx.Client, method: str, path: str, status: int, error: str
) -> None:
    url = httpx.URL(client.base_url.join("/")).copy_with(raw_path=path.encode())
    answer = client.request(method, url)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    if status == 405:
        assert "GET" in answer.headers["allow"]


def test_unknown_function_is_a_json_404(client: httpx.Client) -> None:
    answer = client.get("/function/nope/anything")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": "unknown-function",
        "detail": "no function named 'nope' (deployed: broken, echo, hello, sleeper)",
        "function": "nope",
    }


def test_a_function_that_cannot_start_is_a_json_502(client: httpx.Client) -> None:
    answer = client.get("/function/broken/")
    assert answer.status_code == 502
    error = answer.json()
    assert error["function"] == "broken"
    assert error["detail"].startswith("function 'broken' exited with code 1 before answering")


def test_a_cold_request_is_held_until_the_function_answers(client: httpx.Client) -> None:
    _wait_stopped(client, "hello")
    assert _function(client, "hello")["pid"] is None
    answer = client.get("/function/hello/")
    assert answer.status_code == 200 and answer.json()["hello"] == "world"
    pid = answer.json()["pid"]
    _wait_stopped(client, "hello")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_concurrent_cold_requests_start_the_function_once(client: httpx.Client) -> None:
    _wait_stopped(client, "hello")
    starts = _function(client, "hello")["starts"]
    with ThreadPoolExecutor(6) as threads:
        answers = list(threads.map(lambda _: client.get("/function/hello/"), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.json()["pid"] for a in answers}) == 1
    assert _function(client, "hello")["starts"] == starts + 1


def test_cloudevent_functions_are_not_served_and_not_started(client: httpx.Client) -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "nap-1",
        "ce-source": "tests",
        "ce-type": "org.acme.imaging.tick",
        "content-type": "application/json",
    }
    answer = client.post("/function/sleeper/", headers=headers, json={"seconds": 0})
    assert answer.status_code == 404
    assert answer.json()["function"] == "sleeper"
    assert "only the platform delivers to it" in answer.json()["detail"]
    assert _function(client, "sleeper")["starts"] == 0


def test_slow_answers_time_out(client: httpx.Client) -> None:
    assert client.get("/function/echo/", params={"sleep": "0"}).status_code == 200
    slow = client.get("/function/echo/", params={"sleep": "3"})  # ACME_FUNCTION_TIMEOUT: 1.5s
    assert slow.status_code == 504
    assert slow.json()["detail"] == "function 'echo' did not answer in time (ACME_FUNCTION_TIMEOUT)"


def test_metrics_show_cold_starts_and_proxied_requests(client: httpx.Client) -> None:
    client.get("/function/hello/")
    text = client.get("/metrics").text
    assert 'acme_function_cold_start_seconds_count{function="hello"}' in text
    assert 'acme_function_cold_start_seconds_bucket{function="echo",le="+Inf"} 1.0' in text
    assert 'acme_gateway_request_seconds_count{function="echo",outcome="ok"}' in text
    unknown = 'acme_gateway_request_seconds_count{function="_unknown",outcome="unknown_function"}'
    assert unknown in text
    assert 'acme_function_replicas{function="echo"} 1.0' in text
    assert 'acme_function_in_flight{function="hello"} 0.0' in text


def test_healthz_reports_servers_and_functions(client: httpx.Client) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok" and health["ready"] is True  # the runtime has started
    assert [s["name"] for s in health["servers"]] == ["nats"]
    functions = {f["name"]: f for f in health["functions"]}
    assert set(functions) == {"echo", "hello", "sleeper", "broken"}
    assert functions["echo"]["state"] == "ready" and functions["echo"]["pid"] is not None
    assert functions["hello"]["scale_to_zero"] is True


def test_healthz_is_503_starting_until_the_platform_is_ready(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Ready means uploads are noticed: a client that waits for 200 may send at once."""
    ready = False
    gateway = Gateway(
        _NoFunctions(), metrics=RuntimeMetrics(), web_dir=Path("/nonexistent"),
        servers=fake_servers, function_timeout=5, forwarding=Forwarding([], unused_signer()),
        ready=lambda: ready,
    )  # fmt: skip

    async def health() -> httpx.Response:
        transport = httpx.ASGITransport(gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as web:
            return await web.get("/healthz")

    starting = run(loop, health())
    assert starting.status_code == 503
    assert starting.json()["status"] == "starting" and starting.json()["ready"] is False
    ready = True
    answer = run(loop, health())
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


class _NoFunctions:
    def lease(self, name: str) -> Any:
        raise AssertionError("not used")

    def status(self) -> list[FunctionStatus]:
        return []


def _static_client(web_dir: Path) -> httpx.AsyncClient:
    gateway = Gateway(
        _NoFunctions(),
        metrics=RuntimeMetrics(),
        web_dir=web_dir,
        servers=fake_servers,
        function_timeout=5,
        forwarding=Forwarding([], unused_signer()),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(gateway.app), base_url="http://gw")


def test_serves_the_web_app_with_spa_fallback(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>app</html>")
    (tmp_path / "assets" / "app.js").write_text("console.log('app')")
    (tmp_path.parent / "secret.txt").write_text("outside")

    async def fetch() -> list[httpx.Response]:
        async with _static_client(tmp_path) as web:
            page = {"Accept": "text/html,application/xhtml+xml"}
            paths = ["/", "/assets/app.js", "/worklist/study/1.2.3", "/assets/gone.js"]
            return [await web.get(p, headers=page) for p in paths[:3]] + [
                await web.get(paths[3]),
                await web.get("/a/..%2F..%2Fsecret.txt", headers=page),
            ]

    root, asset, route, missing, escape = asyncio.run(fetch())
    assert root.text == route.text == "<html>app</html>"
    assert asset.text == "console.log('app')"
    assert missing.status_code == 404 and missing.json() == {"error": "no file /assets/gone.js"}
    assert escape.text == "<html>app</html>"  # never the file outside the web app


def test_an_unbuilt_web_app_is_a_json_404(tmp_path: Path) -> None:
    async def fetch() -> httpx.Response:
        async with _static_client(tmp_path / "dist") as web:
            return await web.get("/")

    answer = asyncio.run(fetch())
    assert answer.status_code == 404
    assert "the web app is not built" in answer.json()["error"]
