"""No poison-object loop: tries at an object are counted, and spent tries end in quarantine."""

from __future__ import annotations

from pathlib import Path

import flask
import psycopg
import pytest
from dicom_ingest import ingest as ingest_module
from dicom_ingest.api import routes
from dicom_ingest.attempts import is_outage
from dicom_ingest.ingest import ingest_object
from dicom_ingest.sweep import sweep_inbox
from jetstream import published

from acme import ledger
from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.errors import StorageError
from acme.events import EventType
from acme.function import Context
from acme.http import dispatcher_for
from acme.runtime.stackfile import load_stack
from acme.samples import SampleManifest
from acme.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def _good(samples: tuple[Path, SampleManifest]) -> bytes:
    folder, manifest = samples
    return (folder / next(e for e in manifest.good() if e.modality == "DX").path).read_bytes()


def _poison(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def explode(data: bytes, sha256: str | None = None) -> object:
        raise error

    monkeypatch.setattr(ingest_module, "inspect", explode)


def test_an_object_that_keeps_failing_is_quarantined_and_never_tried_again(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "poison.dcm", _good(samples))
    _poison(monkeypatch, ValueError("cannot convert between little and big endian"))
    limit = ctx.settings.ingest_attempts

    for _ in range(limit - 1):
        with pytest.raises(ValueError):
            ingest_object(ctx, inbox, "poison.dcm", None)  # a 500: the router retries
    assert ingest_object(ctx, inbox, "poison.dcm", None) == "quarantined"

    [rejected] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    assert rejected.data["reason_code"] == "ingest-error"
    assert f"failed {limit} times" in rejected.data["detail"]
    assert "ValueError" in rejected.data["detail"]
    assert "endian" not in rejected.data["detail"], "the class, never the message (PHI)"
    assert list(ctx.store.list(inbox)) == []
    assert sweep_inbox(ctx, None) == {}, "nothing left to sweep"
    entry = ledger.latest_by_key(ctx.db, inbox, ["poison.dcm"])["poison.dcm"]
    assert entry.tally_key == "quarantined: ingest-error"
    with ctx.db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM ingest_attempts").fetchone() == (0,)
    ensure_local_key(ctx.settings)
    token = mint_token(ctx.settings, user="ops", roles=["admin"])
    dispatch = dispatcher_for(routes, policy_from_settings(ctx.settings))
    with flask.Flask("t").test_request_context(
        "/metrics", headers={"Authorization": f"Bearer {token}"}
    ):
        text = dispatch(ctx, flask.request).get_data(as_text=True)
    assert 'acme_ingest_settled_objects{outcome="quarantined",reason="ingest-error"} 1.0' in text


def test_the_inbox_sweep_quarantines_a_poison_object_after_its_tries(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.store.put(ctx.settings.buckets.inbox, "stranded.dcm", _good(samples))
    _poison(monkeypatch, KeyError("x"))
    outcomes = [sweep_inbox(ctx, None) for _ in range(ctx.settings.ingest_attempts + 2)]
    assert outcomes == [{"failed": 1}] * (ctx.settings.ingest_attempts - 1) + [
        {"quarantined": 1},
        {},
        {},
    ]


def test_tries_that_ended_their_process_count(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    """A decoder that crashes the process raises nothing: the try was counted before it."""
    inbox = ctx.settings.buckets.inbox
    info = ctx.store.put(inbox, "crash.dcm", _good(samples))
    with ctx.db.connection() as conn:
        conn.execute(
            "INSERT INTO ingest_attempts (bucket, key, etag, received_at, attempts)"
            " VALUES (%s, %s, %s, %s, %s)",
            (inbox, "crash.dcm", info.etag, info.last_modified, ctx.settings.ingest_attempts),
        )

    assert ingest_object(ctx, inbox, "crash.dcm", None) == "quarantined"

    [rejected] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    assert rejected.data["reason_code"] == "ingest-error"
    assert "ended their process" in rejected.data["detail"]


def test_an_outage_is_not_the_objects_fault(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "fine.dcm", _good(samples))
    _poison(monkeypatch, psycopg.OperationalError("server closed the connection"))
    for _ in range(ctx.settings.ingest_attempts + 1):
        with pytest.raises(psycopg.OperationalError):
            ingest_object(ctx, inbox, "fine.dcm", None)
    monkeypatch.undo()

    assert ingest_object(ctx, inbox, "fine.dcm", None) == "stored"


def test_a_dead_lettered_object_replayed_after_a_fix_is_archived(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer failures than the budget (the router gave up first): the replay tries again."""
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "replayed.dcm", _good(samples))
    _poison(monkeypatch, RuntimeError("a bug, since fixed"))
    with pytest.raises(RuntimeError):
        ingest_object(ctx, inbox, "replayed.dcm", None)
    monkeypatch.undo()

    assert ingest_object(ctx, inbox, "replayed.dcm", None) == "stored"
    # ... and a replay of an object settled since changes nothing.
    assert ingest_object(ctx, inbox, "replayed.dcm", None) == "gone"
    assert len(published(ctx.settings, EventType.INSTANCE_STORED)) == 1


def test_outages_are_told_from_bugs() -> None:
    assert not is_outage(StorageError("put_object: HTTP 400 InvalidArgument"))
    wrapped = StorageError("get_object: connection refused")
    wrapped.__cause__ = ConnectionRefusedError()
    assert is_outage(wrapped)
    assert is_outage(psycopg.OperationalError())
    assert not is_outage(ValueError())


def test_tries_are_spent_before_the_router_dead_letters(settings: Settings) -> None:
    stack = load_stack(ROOT / "stack.yml")
    [objects] = [
        t for t in stack.functions["dicom-ingest"].annotations.triggers if t.name == "objects"
    ]
    assert settings.ingest_attempts <= objects.retry + 1
