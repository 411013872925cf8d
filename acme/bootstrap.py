"""What a fresh platform needs before functions start: buckets, the event stream, the schema.

Idempotent: ``acme up`` runs it on every start, against embedded or external servers alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from acme.bus import NatsBus
from acme.db import apply_migrations, make_pool
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client


@dataclass(frozen=True)
class BootstrapReport:
    buckets_created: list[str]
    migrations_applied: list[str]


def bootstrap(settings: Settings) -> BootstrapReport:
    """Create missing buckets, the JetStream stream, and apply pending migrations."""
    created = ensure_buckets(make_s3_client(settings), settings.buckets.all())
    pool = make_pool(settings, application_name="acme-bootstrap")
    try:
        applied = apply_migrations(pool)
    finally:
        pool.close()
    if settings.k_sink is None:
        NatsBus(settings, name="acme-bootstrap").close()  # connecting creates the stream
    return BootstrapReport(buckets_created=created, migrations_applied=applied)
