"""What a fresh platform needs before functions start: buckets, the event stream, the schema
and the bundled models.

Idempotent: ``acme up`` runs it on every start, against embedded or external servers alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from acme.bus import NatsBus
from acme.db import apply_migrations, make_pool
from acme.models import register_bundled
from acme.settings import Settings
from acme.storage import S3ObjectStore, ensure_buckets, make_s3_client


@dataclass(frozen=True)
class BootstrapReport:
    buckets_created: list[str]
    migrations_applied: list[str]
    models_registered: list[str]


def bootstrap(settings: Settings) -> BootstrapReport:
    """Create missing buckets, the JetStream stream, and apply pending migrations."""
    client = make_s3_client(settings)
    created = ensure_buckets(client, settings.buckets.all())
    pool = make_pool(settings, application_name="acme-bootstrap")
    try:
        applied = apply_migrations(pool)
    finally:
        pool.close()
    if settings.k_sink is None:
        NatsBus(settings, name="acme-bootstrap").close()  # connecting creates the stream
    registered = register_bundled(S3ObjectStore(client), settings)
    return BootstrapReport(
        buckets_created=created,
        migrations_applied=applied,
        models_registered=[f"{r.card.name} {r.card.version}" for r in registered if r.created],
    )
