"""``acme up`` and ``acme status``."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from acme.settings import load_settings
from acme.stack import EmbeddedStack, ServerHealth, stack_health


@click.command()
def up() -> None:
    """Start the whole platform and stay in the foreground (Ctrl-C stops it cleanly)."""
    settings = load_settings()
    console = Console(stderr=True)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = EmbeddedStack(settings)
    with console.status("starting servers…"):
        try:
            stack.start()
        except BaseException:
            stack.stop()
            raise
    try:
        assert stack.state is not None
        console.print(f"[bold green]ready[/] in {stack.state.ready_seconds:.1f}s")
        console.print(_health_table(stack_health(settings)))
        console.print(f"home: {settings.home.resolve()}  ·  Ctrl-C to stop")
        stopping.wait()
    finally:
        console.print("stopping…")
        stack.stop()
        console.print("stopped")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Health and address of each server of the platform."""
    settings = load_settings()
    health = stack_health(settings)
    if as_json:
        click.echo(json.dumps({"servers": [h.model_dump(mode="json") for h in health]}, indent=2))
    else:
        Console().print(_health_table(health))
    if not all(h.healthy for h in health):
        raise SystemExit(1)


def _health_table(health: list[ServerHealth]) -> Table:
    table = Table(title="servers")
    for column in ("server", "healthy", "address", "managed", "detail"):
        table.add_column(column)
    for h in health:
        table.add_row(
            h.name,
            "[green]yes[/]" if h.healthy else "[red]no[/]",
            h.url or "-",
            "embedded" if h.managed else "external",
            h.detail,
        )
    return table
