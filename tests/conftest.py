"""Session-wide fixtures: real servers, isolated per test.

One embedded stack (NATS with JetStream, PostgreSQL, Redis, SeaweedFS) is started per test
session on free loopback ports; a server whose ``ACME_*_URL`` is set in the environment is
used instead of starting one. ``settings`` gives each test its own database, bucket prefix,
JetStream stream and subject prefix, so tests never see each other's data; its buckets are
deleted after it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import isolated

from acme.settings import Settings, load_settings
from acme.stack.stack import EmbeddedStack


@pytest.fixture(scope="session")
def embedded_stack() -> Iterator[EmbeddedStack]:
    """The session's servers (started here unless ``ACME_*_URL`` point at existing ones).

    The servers' home is outside pytest's shared temporary folder: another pytest run resets
    that folder's permissions, which would lock out PostgreSQL's system user.
    """
    home = Path(tempfile.mkdtemp(prefix="acme-test-stack-"))
    stack = EmbeddedStack(load_settings(home=home, gateway_port=0))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_settings(embedded_stack: EmbeddedStack) -> Settings:
    """Settings whose four URLs point at the session's running servers."""
    assert embedded_stack.state is not None
    urls = {name: server.url for name, server in embedded_stack.state.servers.items()}
    return embedded_stack.settings.model_copy(
        update={
            "nats_url": urls["nats"],
            "database_url": urls["postgres"],
            "redis_url": urls["redis"],
            "s3_url": urls["s3"],
        }
    )


@pytest.fixture
def settings(stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Per-test settings: a fresh empty database and unique bucket, stream and subject names."""
    with isolated(stack_settings, tmp_path / "home") as mine:
        yield mine
