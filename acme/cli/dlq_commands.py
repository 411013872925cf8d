"""``acme dlq list`` and ``acme dlq replay``: the events the router dead-lettered.

Both read the settings (``ACME_*``) and the running stack's server URLs (``<home>/stack.json``).
See :mod:`acme.runtime.dlq` for what an entry holds and where a replayed event goes.
"""

from __future__ import annotations

import asyncio
import json

import click
from rich.console import Console
from rich.table import Table

from acme.bus import connect
from acme.errors import BusError
from acme.runtime.dlq import DeadLetterEntry, DeadLetterQueue
from acme.settings import Settings, load_settings
from acme.stack.state import connect_settings

__all__ = ["dlq"]

_SUBJECT_WIDTH = 48


@click.group()
def dlq() -> None:
    """Dead-lettered events: list them, replay them through the router."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """Every dead-lettered event, oldest first."""
    entries = asyncio.run(_entries(_settings()))
    if as_json:
        click.echo(json.dumps([_row(entry) for entry in entries], indent=2))
        return
    table = Table(title=f"dead letters ({len(entries)})")
    for column in ("id", "time", "function", "type", "subject", "reason"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        row = _row(entry)
        cells = [str(row[key] or "-") for key in ("id", "time", "function", "type")]
        table.add_row(*cells, _short(row["subject"]), str(row["reason"]))
    Console().print(table)


@dlq.command()
@click.argument("ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
def replay(ids: tuple[int, ...], replay_all: bool) -> None:
    """Send dead letters ID... (or --all) through the router again, then remove them.

    Each event goes back to the trigger that dead-lettered it; if that trigger no longer
    exists, to every trigger of its type.
    """
    if bool(ids) == replay_all:
        raise click.UsageError("give the ids to replay, or --all (not both)")
    for entry_id, target in asyncio.run(_replay(_settings(), list(ids), replay_all)):
        click.echo(f"replayed {entry_id} -> {target}")


def _settings() -> Settings:
    return connect_settings(load_settings())


async def _entries(settings: Settings) -> list[DeadLetterEntry]:
    client = await connect(settings, "acme-dlq")
    try:
        return await DeadLetterQueue(client.jetstream(), settings).entries()
    finally:
        await client.close()


async def _replay(settings: Settings, ids: list[int], replay_all: bool) -> list[tuple[int, str]]:
    client = await connect(settings, "acme-dlq")
    try:
        queue = DeadLetterQueue(client.jetstream(), settings)
        entries = await queue.entries() if replay_all else [await queue.get(i) for i in ids]
        return [(entry.id, await queue.replay(entry)) for entry in entries]
    except BusError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await client.close()


def _row(entry: DeadLetterEntry) -> dict[str, object]:
    letter = entry.letter
    return {
        "id": entry.id,
        "time": entry.stored_at.isoformat(),
        "function": letter.function,
        "trigger": letter.trigger,
        "type": letter.event_type,
        "event_id": letter.event_id,
        "subject": letter.event_subject,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "last_status": letter.last_status,
    }


def _short(value: object) -> str:
    text = str(value or "-")
    return text if len(text) <= _SUBJECT_WIDTH else text[: _SUBJECT_WIDTH - 1] + "…"


if __name__ == "__main__":
    dlq()
