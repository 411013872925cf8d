"""``acme pacs echo DEST`` and ``acme pacs send DEST STUDY``: the PACS destinations by hand.

``echo`` checks a destination answers (C-ECHO, or a QIDO-RS query for DICOMweb). ``send``
asks the running platform to send the study's current report version (or ``--version``) to
the destination again: it records the delivery as pending and publishes its
``dispatch.requested`` event in one transaction, so the dispatch function sends it with the
same retries, dead letters and audit as any delivery, then waits for the outcome.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import click

from acme.bus import make_bus
from acme.db import Pool, make_pool
from acme.dicomnet import deliveries, results
from acme.dicomnet.destinations import load_destinations
from acme.dicomnet.senders import SendError, make_sender
from acme.events import DispatchRequested, EventType, new_event
from acme.settings import load_settings
from acme.stack.state import connect_settings

__all__ = ["pacs"]


@click.group()
def pacs() -> None:
    """The PACS destinations of ACME_DESTINATIONS_FILE."""


@pacs.command()
@click.argument("destination")
def echo(destination: str) -> None:
    """Check that DESTINATION answers; exit 1 when it does not."""
    settings = load_settings()
    config = load_destinations(settings.destinations_file).named(destination)
    sender = make_sender(destination, config, calling_ae_title=settings.dicom_ae_title)
    began = time.monotonic()
    try:
        sender.echo()
    except SendError as exc:
        click.echo(f"acme: {exc}", err=True)
        raise SystemExit(1) from None
    what = "C-ECHO" if config.type == "dimse" else "QIDO-RS"
    click.echo(f"{destination}: {what} ok in {(time.monotonic() - began) * 1000:.0f} ms")


@pacs.command()
@click.argument("destination")
@click.argument("study_uid")
@click.option("--version", "version", type=click.IntRange(min=1), help="Report version.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
def send(destination: str, study_uid: str, version: int | None, timeout: float) -> None:
    """Send STUDY_UID's report (SR and key object) to DESTINATION again, and wait."""
    settings = connect_settings(load_settings())
    load_destinations(settings.destinations_file).named(destination)
    pool = make_pool(settings, application_name="acme-cli")
    bus = make_bus(settings, name="acme-cli")
    try:
        with pool.connection() as conn, conn.transaction():
            current = results.latest_version(conn, study_uid)
            if current is None:
                raise click.ClickException(f"study {study_uid} has no report")
            chosen = version or current.version
            key = deliveries.DeliveryKey(current.report_id, chosen, destination)
            deliveries.request(conn, key, study_uid, "manual")
            before = deliveries.find(conn, key)
            bus.publish(
                new_event(
                    EventType.DISPATCH_REQUESTED,
                    DispatchRequested(
                        report_id=current.report_id, version=chosen, study_uid=study_uid,
                        destination=destination, cause="manual", requested_at=datetime.now(UTC),
                    ),
                    source="/acme/cli",
                    event_id=str(uuid.uuid4()),
                )
            )  # fmt: skip
        attempts = before.attempts if before is not None else 0
        row = _wait(pool, key, attempts, timeout)
    finally:
        bus.close()
        pool.close()
    if row is None:
        click.echo(f"acme: no outcome after {timeout:g}s (is acme up running?)", err=True)
        raise SystemExit(1)
    if row.status != "delivered":
        click.echo(
            f"acme: {destination}: attempt {row.attempts} failed: {row.last_error}", err=True
        )
        raise SystemExit(1)
    click.echo(f"{destination}: delivered {len(row.sop_uids)} object(s) of version {chosen}")


def _wait(
    pool: Pool, key: deliveries.DeliveryKey, attempts: int, timeout: float
) -> deliveries.DeliveryRow | None:
    """The delivery once an attempt after the ``attempts`` seen before is recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with pool.connection() as conn:
            row = deliveries.find(conn, key)
        if row is not None and row.attempts > attempts:
            return row
        time.sleep(0.5)
    return None
