"""Contexts of an inference function on the test servers, with the shipped models registered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from acme.function import Context
from acme.models import register_bundled
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client

MODELS = Path(__file__).resolve().parents[2] / "models"

OpenContext = Callable[..., Context]


@contextmanager
def inference_contexts(
    settings: Settings, function: str, **defaults: object
) -> Iterator[OpenContext]:
    """Open ``function`` contexts (buckets made, shipped models registered; ``defaults`` and
    then each call's overrides set on the settings); all are closed at the end."""
    opened: list[Context] = []
    ensure_buckets(make_s3_client(settings), settings.buckets.all())

    def open_one(**overrides: object) -> Context:
        values = {"models_dir": MODELS, **defaults, **overrides}
        context = Context.open(function, settings.model_copy(update=values))
        opened.append(context)
        register_bundled(context.store, context.settings)
        return context

    try:
        yield open_one
    finally:
        for context in opened:
            context.close()
