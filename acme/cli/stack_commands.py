"""``acme up`` and ``acme status``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from acme.auth import ensure_local_key
from acme.cli.object_view import show_object
from acme.cli.study_commands import show_study
from acme.errors import AcmeError
from acme.runtime.app import PrefixedLines, Runtime, prefork_log, settings_environment
from acme.runtime.forked import Prefork
from acme.runtime.stackfile import Stack, load_stack
from acme.settings import Settings, load_settings
from acme.stack.ports import claim_port
from acme.stack.stack import EmbeddedStack
from acme.stack.state import record_gateway, record_receiver
from acme.stack.status import ServerHealth, receiver_health, stack_health


@click.command()
def up() -> None:
    """Start the whole platform and stay in the foreground (Ctrl-C stops it cleanly).

    The servers, then every function of the stack file (ACME_STACK_FILE), the event router
    and the gateway (ACME_GATEWAY_PORT), whose URL is printed. Functions whose handler folder
    has no main.py yet are skipped with a warning.
    """
    settings = load_settings()
    functions = load_stack(settings.stack_file)  # a bad stack file fails before any server
    if settings.gateway_port:  # so does a gateway port in use
        claim_port(settings.gateway_host, settings.gateway_port, "ACME_GATEWAY_PORT")
    output = PrefixedLines(sys.stdout)
    # forked first, before any thread: acme up shares the preloaded pages with its functions
    prefork = (
        Prefork.forked(
            log_path=prefork_log(settings), on_output=lambda line: output("prefork", line)
        )
        if settings.prefork
        else None
    )
    console = Console(stderr=True, soft_wrap=True)
    for name, folder in functions.missing().items():
        where = escape(str(folder))
        console.print(f"[yellow]warning[/]: skipping function {name}: no main.py in {where}")
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = EmbeddedStack(settings)
    with console.status("starting servers…"):
        try:
            running = stack.start()
        except BaseException:
            stack.stop()
            raise
    try:
        assert stack.state is not None
        console.print(f"[bold green]servers ready[/] in {stack.state.ready_seconds:.1f}s")
        console.print(_health_table(stack_health(settings)))
        with console.status("creating buckets, stream and schema…"):
            prepared = _bootstrap(running)
        if any(prepared.values()):
            console.print(
                f"bootstrap: buckets created {prepared['buckets_created'] or 'none'}, "
                f"migrations applied {prepared['migrations_applied'] or 'none'}, "
                f"models registered {prepared['models_registered'] or 'none'}"
            )
        jwks = ensure_local_key(running)  # the local token issuer, unless a provider is set
        if jwks is not None:
            console.print(f"local token issuer: {escape(str(jwks))} (acme token --user U --role R)")
        if not stopping.is_set():
            asyncio.run(_run_runtime(running, functions, stack, console, stopping, output, prefork))
    finally:
        if prefork is not None:
            prefork.stop()  # stopped with the runtime, unless the runtime never started
        signal.signal(signal.SIGTERM, request_stop)  # asyncio.run restored the defaults
        signal.signal(signal.SIGINT, request_stop)
        console.print("stopping servers…")
        took = stack.stop()
        each = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in took.items())
        console.print(f"stopped ({each or 'no server'})")


def _bootstrap(settings: Settings) -> dict[str, list[str]]:
    """``acme bootstrap`` against the started servers, in a child process as the cluster's
    bootstrap Job runs it: what it imports (the model registry checks each ONNX graph with
    onnx and onnxruntime) leaves with the child instead of staying in ``acme up``."""
    done = subprocess.run(
        [sys.executable, "-m", "acme.cli.main", "bootstrap", "--json"],
        env={**os.environ, **settings_environment(settings)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise AcmeError(f"bootstrap failed: {lines[-1]}")
    report: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return report  # acme.bootstrap.BootstrapReport's fields


async def _run_runtime(
    settings: Settings,
    functions: Stack,
    servers: EmbeddedStack,
    console: Console,
    stopping: threading.Event,
    output: PrefixedLines,
    prefork: Prefork | None,
) -> None:
    """Functions, router and gateway until SIGINT/SIGTERM; then stop them in that order.

    Meanwhile the servers are watched: one that exits is started again (same port, same
    data), on this thread, so that it dies with ``acme up`` like the others.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stopping.is_set():  # a signal came before the handlers above were installed
        return
    runtime = Runtime(settings, functions, output=output, inherited_env=os.environ, prefork=prefork)
    asked = 0.0
    async with runtime:  # started: notifications are received, modalities can send
        routes = "web app, /function/<name>/, /healthz, /metrics"
        record_gateway(settings.home.resolve(), runtime.url)
        console.print(f"[bold green]gateway[/] {escape(runtime.url)}/  ({escape(routes)})")
        if runtime.receiver is not None:
            receiver = runtime.receiver
            record_receiver(settings.home.resolve(), receiver)
            allowed = ", ".join(str(peer) for peer in settings.allowed_peers) or "none"
            console.print(
                f"[bold green]dicom receiver[/] AE title {escape(receiver.ae_title)} on "
                f"{receiver.host}:{receiver.port}  (calling AEs allowed: {escape(allowed)})"
            )
        console.print(f"functions: {', '.join(runtime.deployed) or 'none'}")
        console.print(f"home: {settings.home.resolve()}  ·  Ctrl-C to stop")
        watcher = asyncio.create_task(_watch_servers(servers, console), name="acme-servers")
        await stop.wait()
        watcher.cancel()
        console.print("stopping router, gateway and functions…")
        asked = time.monotonic()
    console.print(f"router, gateway and functions stopped in {time.monotonic() - asked:.1f}s")


async def _watch_servers(stack: EmbeddedStack, console: Console, every: float = 0.5) -> None:
    """Start again each server that exits, as long as the platform runs."""
    while True:
        try:
            revived = stack.revive()
        except (OSError, AcmeError) as exc:  # e.g. the program vanished: say so, keep watching
            console.print(f"[red]a server could not be started again[/]: {escape(str(exc))}")
            revived = []
        for server in revived:
            console.print(
                f"[yellow]{server.name}[/] exited with code {server.exit_code}; started again "
                f"on the same port with its data (restart {server.restarts})"
                if server.exit_code is not None
                else f"[yellow]{server.name}[/] could not listen on ports "
                f"{list(server.lost_ports)}; started again on its client port and new other "
                f"ports, with its data (restart {server.restarts})"
            )
        await asyncio.sleep(every)


@click.command()
@click.argument("study_uid", required=False)
@click.option("--object", "object_key", help="A dicom-inbox key: what became of its uploads.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(study_uid: str | None, object_key: str | None, as_json: bool) -> None:
    """Health and address of each server; with STUDY_UID, where that study is; with
    --object KEY, what became of each upload under that inbox key."""
    settings = load_settings()
    if object_key is not None:
        show_object(settings, object_key, as_json=as_json)
        return
    if study_uid is not None:
        show_study(settings, study_uid, as_json=as_json)
        return
    health = stack_health(settings)
    receiver = receiver_health(settings)
    if receiver is not None:
        health.append(receiver)
    if as_json:
        click.echo(json.dumps({"servers": [h.model_dump(mode="json") for h in health]}, indent=2))
    else:
        Console().print(_health_table(health))
    if not all(h.healthy for h in health):
        raise SystemExit(1)


def _health_table(health: list[ServerHealth]) -> Table:
    table = Table(title="servers")
    for column in ("server", "healthy", "address", "managed", "restarts", "detail"):
        table.add_column(column)
    for h in health:
        address = h.url or "-"
        if h.ae_title is not None:
            address = f"{h.ae_title}@{h.url or '-'}"
        table.add_row(
            h.name,
            "[green]yes[/]" if h.healthy else "[red]no[/]",
            escape(address),
            "embedded" if h.managed else "external",
            str(h.restarts) if h.managed else "-",
            h.detail,
        )
    return table
