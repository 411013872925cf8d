"""``acme audit verify`` and ``acme audit export``: the audit trail, straight from PostgreSQL.

Both read the settings (``ACME_*``) and the running stack's server URLs. ``verify`` exits 1
naming the first broken row; ``export`` writes a FHIR R4 Bundle of AuditEvents and records
the export itself in the trail (an export is a read of PHI).
"""

from __future__ import annotations

import getpass
import ipaddress
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from acme.audit import (
    Anchor,
    AuditQuery,
    AuditRow,
    append_event,
    audit_bundle,
    bundle_json,
    query_rows,
    verify_trail,
)
from acme.db import Pool, make_pool
from acme.events import AccessRecorded, EventType, new_event
from acme.events.models import describe_validation_error
from acme.settings import load_settings
from acme.stack.state import connect_settings

__all__ = ["audit"]

CLI_SOURCE = "/acme/cli"


def _pool() -> Pool:
    return make_pool(connect_settings(load_settings()), application_name="acme-audit-cli")


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        message = f"expected an ISO 8601 time, got {value!r}"
        raise click.BadParameter(message, param_hint=option) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(
            f"expected a time with its UTC offset (e.g. {value}Z), got {value!r}",
            param_hint=option,
        )
    return parsed


@click.group()
def audit() -> None:
    """The audit trail: verify its hash chain, export it as FHIR AuditEvents."""


@audit.command()
@click.option(
    "--head", help="ID:HASH of a head reported earlier: also catches removed newest rows."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify(head: str | None, as_json: bool) -> None:
    """Check every row's hash and link; exit 1 naming the first broken row."""
    try:
        anchor = Anchor.parse(head) if head is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--head") from None
    pool = _pool()
    try:
        result = verify_trail(pool, anchor=anchor)
    finally:
        pool.close()
    click.echo(result.model_dump_json(indent=2) if as_json else result.summary())
    if not result.intact:
        raise SystemExit(1)


@audit.command()
@click.option("--study", help="Study Instance UID.")
@click.option("--since", help="Occurred at or after (ISO 8601 with offset).")
@click.option("--until", help="Occurred before (ISO 8601 with offset).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: standard output).",
)
def export(study: str | None, since: str | None, until: str | None, output: Path | None) -> None:
    """Write the AuditEvents of a study or a time range as a FHIR R4 Bundle (JSON)."""
    if study is None and since is None and until is None:
        raise click.UsageError("give --study, or a time range (--since and/or --until)")
    try:
        query = AuditQuery(
            study=study, since=_instant(since, "--since"), until=_instant(until, "--until"),
            limit=5000,
        )  # fmt: skip
    except ValidationError as exc:
        raise click.UsageError(describe_validation_error(exc)) from None
    pool = _pool()
    try:
        rows = _all_rows(pool, query)
        _record_export(pool, study, since, until)
    finally:
        pool.close()
    content = bundle_json(audit_bundle(rows))
    if output is None:
        click.echo(content.decode("utf-8"))
    else:
        output.write_bytes(content)
        click.echo(f"{len(rows)} AuditEvent(s) written to {output}", err=True)


def _all_rows(pool: Pool, query: AuditQuery) -> list[AuditRow]:
    rows: list[AuditRow] = []
    while True:
        page = query_rows(pool, query)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        query = query.model_copy(update={"after": page.next_cursor})


def _record_export(pool: Pool, study: str | None, since: str | None, until: str | None) -> None:
    """The export is itself a read of PHI: add it to the trail."""
    selection = " ".join(
        f"--{name} {value}"
        for name, value in (("study", study), ("since", since), ("until", until))
        if value
    )
    try:
        actor = getpass.getuser()
    except (KeyError, OSError):
        actor = "unknown"
    data = AccessRecorded(
        actor=f"cli:{actor}"[:128],
        role="admin",
        action="export",
        resource=f"acme audit export {selection}"[:1024],
        study_uid=study,
        when=datetime.now(UTC),
        source_ip=ipaddress.ip_address("127.0.0.1"),
        outcome="success",
        request_id=str(uuid.uuid4()),
    )
    append_event(pool, new_event(EventType.ACCESS_RECORDED, data, source=CLI_SOURCE))
