"""A receiver on the session's real SeaweedFS and PostgreSQL, in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from acme.db import Pool, apply_migrations, make_pool
from acme.dicomnet.journal import PostgresJournal
from acme.dicomnet.receiver import DicomReceiver, ReceiverConfig
from acme.settings import Settings
from acme.storage import S3ObjectStore, ensure_buckets, make_s3_client

Start = Callable[..., DicomReceiver]


@pytest.fixture
def pool(settings: Settings) -> Iterator[Pool]:
    pool = make_pool(settings, application_name="test")
    apply_migrations(pool)
    yield pool
    pool.close()


@pytest.fixture
def store(settings: Settings) -> S3ObjectStore:
    client = make_s3_client(settings)
    ensure_buckets(client, settings.buckets.all())
    return S3ObjectStore(client)


@pytest.fixture
def start_receiver(settings: Settings, store: S3ObjectStore, pool: Pool) -> Iterator[Start]:
    """Start a receiver with ``settings`` changed by the keyword arguments (port 0)."""
    started: list[DicomReceiver] = []

    def start(**changes: object) -> DicomReceiver:
        config = ReceiverConfig.from_settings(
            settings.model_copy(update={"dicom_port": 0, **changes})
        )
        receiver = DicomReceiver(
            config, store=store, bucket=settings.buckets.inbox, journal=PostgresJournal(pool)
        )
        receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
