"""``acme bootstrap``: prepare external servers (the cluster's bootstrap Job)."""

from __future__ import annotations

import dataclasses
import json

import click

from acme.bootstrap import bootstrap as prepare
from acme.settings import load_settings
from acme.stack.state import connect_settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def bootstrap(as_json: bool) -> None:
    """Create missing buckets and the event stream, apply migrations, register the models.

    Against the servers the ACME_*_URL settings name; idempotent (acme up does the same on
    every start).
    """
    report = prepare(connect_settings(load_settings()))
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report)))
        return
    click.echo(f"buckets created: {', '.join(report.buckets_created) or 'none'}")
    click.echo(f"migrations applied: {', '.join(report.migrations_applied) or 'none'}")
    click.echo(f"models registered: {', '.join(report.models_registered) or 'none'}")
