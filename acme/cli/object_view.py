"""The object view of ``acme status --object KEY``: what became of each upload under a key."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from acme.db import make_pool
from acme.ledger import ObjectStatus, object_status
from acme.settings import Settings
from acme.stack.state import connect_settings
from acme.storage import S3ObjectStore, make_s3_client


def show_object(settings: Settings, key: str, *, as_json: bool) -> None:
    """Print what became of each upload under inbox ``key``; exit 1 when none is known."""
    settings = connect_settings(settings)
    pool = make_pool(settings, application_name="acme-cli")
    try:
        status = object_status(
            pool, S3ObjectStore(make_s3_client(settings)), settings.buckets.inbox, key
        )
    finally:
        pool.close()
    if as_json:
        click.echo(status.model_dump_json(indent=2))
    else:
        Console().print(_object_table(status))
    if not status.entries and not status.waiting:
        click.echo(f"acme: no upload under {key!r} in {settings.buckets.inbox}", err=True)
        raise SystemExit(1)


def _object_table(status: ObjectStatus) -> Table:
    table = Table(title=f"{status.bucket}/{escape(status.key)}")
    for column in ("received", "settled", "outcome", "what became of it"):
        table.add_column(column)
    if status.waiting:
        tries = f"{status.attempts} tries, {status.failures} failed"
        last = f" (last: {status.last_error})" if status.last_error else ""
        table.add_row("in the inbox", "-", "waiting", escape(tries + last))
    for entry in status.entries:
        table.add_row(
            f"{entry.received_at:%Y-%m-%d %H:%M:%S}",
            f"{entry.settled_at:%Y-%m-%d %H:%M:%S}",
            entry.outcome,
            escape(entry.describe()),
        )
    return table
