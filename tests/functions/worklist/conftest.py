"""Fixtures for worklist: real chest films (uncompressed and JPEG 2000) indexed by the real
ingest on the test servers, and the worklist API behind a test client with a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dicom_ingest.ingest import ingest_object
from isolation import isolated
from worklist_films import Call, Film, caller, films

from acme.auth import ensure_local_key
from acme.function import Context
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client


@pytest.fixture(scope="session")
def test_films() -> list[Film]:
    return films()


@pytest.fixture(scope="module")
def module_settings(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings of one database, bucket prefix and stream for a whole test module (the films
    are ingested once per module; tests that change what is stored use ``settings``)."""
    with isolated(stack_settings, tmp_path_factory.mktemp("worklist") / "home") as mine:
        yield mine


def open_context(settings: Settings) -> Context:
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    ensure_local_key(settings)
    return Context.open("worklist", settings)


@pytest.fixture(scope="module")
def ctx(module_settings: Settings) -> Iterator[Context]:
    context = open_context(module_settings)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def fresh_ctx(settings: Settings) -> Iterator[Context]:
    """A context of a database of the test's own (for tests that store)."""
    context = open_context(settings)
    try:
        yield context
    finally:
        context.close()


def ingest(ctx: Context, films_: list[Film]) -> list[Film]:
    inbox = ctx.settings.buckets.inbox
    for film in films_:
        ctx.store.put(inbox, f"films/{film.name}", film.data)
        assert ingest_object(ctx, inbox, f"films/{film.name}", None) == "stored"
    return films_


@pytest.fixture(scope="module")
def indexed(ctx: Context, test_films: list[Film]) -> list[Film]:
    """The films ingested (archived and indexed) by dicom-ingest's own code, once a module."""
    return ingest(ctx, test_films)


@pytest.fixture(scope="module")
def call(ctx: Context) -> Call:
    """``call(method, path, role="radiologist", headers=..., data=...)`` through the API."""
    return caller(ctx)


@pytest.fixture
def fresh_call(fresh_ctx: Context) -> Call:
    return caller(fresh_ctx)


@pytest.fixture(scope="session")
def repo() -> Path:
    return Path(__file__).resolve().parents[3]
