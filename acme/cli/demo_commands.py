"""``acme demo``."""

from __future__ import annotations

import os
import sys

import click

from acme.demo import demo_console, run_demo
from acme.settings import load_settings


@click.command()
@click.option(
    "--timeout", default=600.0, show_default=True, help="Seconds to wait for the studies."
)
def demo(timeout: float) -> None:
    """Start the platform, send the sample studies, and show what became of each.

    Exits 0 only when every good study reached its final automated state and every bad
    file was quarantined with its expected reason.
    """
    console = demo_console(sys.stdout)
    result = run_demo(
        load_settings(), inherited_env=dict(os.environ), console=console, timeout=timeout
    )
    if result.ok:
        console.print("[bold green]demo passed[/]: every study reached its final state")
        return
    console.print("[bold red]demo failed[/]: see the tables above")
    raise SystemExit(1)
