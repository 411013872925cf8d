"""Fixtures for the audit function: its module, a Context, tokens, and events of every type."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from cloudevents.http import CloudEvent

from acme.auth import ensure_local_key, mint_token
from acme.events import EventData, EventType, new_event
from acme.function import Context
from acme.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "tests" / "acme" / "events" / "conftest.py"


def load_module(name: str, path: Path) -> ModuleType:
    """Import ``path`` as module ``name`` (each function's main.py is called main)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def importer() -> Callable[[str, Path], ModuleType]:
    """:func:`load_module`, for tests that import other functions' main.py."""
    return load_module


@pytest.fixture(scope="session")
def main() -> ModuleType:
    """functions/audit/main.py."""
    return load_module("audit_main", ROOT / "functions" / "audit" / "main.py")


@pytest.fixture(scope="session")
def samples() -> dict[str, EventData]:
    """A valid data sample of every event type (tests/acme/events/conftest.py)."""
    samples: dict[str, EventData] = load_module("event_samples", SAMPLES)._samples()
    return samples


@pytest.fixture
def every_type(samples: dict[str, EventData]) -> list[CloudEvent]:
    """One CloudEvent of every type, as the functions that emit them build them."""
    return [
        new_event(event_type, data, source=f"/acme/functions/test-{index}")
        for index, (event_type, data) in enumerate(samples.items())
    ]


@pytest.fixture
def access_event(samples: dict[str, EventData]) -> Callable[..., CloudEvent]:
    """An access.recorded event with some fields changed (its time is the data's ``when``)."""
    base = samples[EventType.ACCESS_RECORDED]

    def make(**changes: Any) -> CloudEvent:
        data = base.model_copy(update=changes)
        return new_event(
            EventType.ACCESS_RECORDED, data, source="/acme/functions/worklist", time=data.when
        )

    return make


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    """A Context on the test servers, with the local signing key created."""
    ensure_local_key(settings)
    context = Context.open("audit", settings)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def token(ctx: Context) -> Callable[..., str]:
    """``token(role, ...)``: an Authorization header value from the local issuer."""

    def make(*roles: str, user: str = "aud-1") -> str:
        return f"Bearer {mint_token(ctx.settings, user=user, roles=roles)}"

    return make


@pytest.fixture
def superuser(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """The database owner's connection (what "behind the application's back" means)."""
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        yield conn
