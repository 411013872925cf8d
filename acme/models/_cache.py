"""The models one process has loaded: each is fetched and opened once, on first use."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from acme.models._predictor import Predictor
from acme.models._registry import ModelRegistry
from acme.models._session import Device
from acme.settings import Settings


@dataclass(frozen=True)
class RuntimeOptions:
    """How sessions are opened and fed: from the ``ACME_INFERENCE_*`` settings."""

    device: Device = "auto"
    threads: int = 0
    max_batch: int = 8
    batch_wait: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> RuntimeOptions:
        return cls(
            device=settings.inference_device,
            threads=settings.inference_threads,
            max_batch=settings.inference_batch_size,
            batch_wait=settings.inference_batch_wait_ms / 1000.0,
        )


@dataclass(frozen=True)
class Loaded:
    """A predictor, and the milliseconds this call spent loading it (0 when cached)."""

    predictor: Predictor
    load_ms: float


class ModelCache:
    """Loaded predictors keyed by the requested name and version (None: the newest).

    The newest version is resolved once, when first asked for: a process keeps the model it
    started with, and a newly registered version is taken up by the next process (functions
    scale to zero, so that is soon). A failed load is not cached.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str | None], Predictor] = {}

    def get(
        self,
        registry: ModelRegistry,
        name: str,
        version: str | None = None,
        options: RuntimeOptions | None = None,
    ) -> Loaded:
        """The predictor of ``name`` at ``version``, loading it (with ``options``) if new."""
        key = (name, version)
        with self._lock:
            cached = self._loaded.get(key)
            if cached is not None:
                return Loaded(predictor=cached, load_ms=0.0)
            started = time.perf_counter()
            model = registry.fetch(registry.resolve(name, version))
            options = options or RuntimeOptions()
            predictor = Predictor.load(
                model,
                device=options.device,
                threads=options.threads,
                max_batch=options.max_batch,
                batch_wait=options.batch_wait,
            )
            self._loaded[key] = predictor
            return Loaded(predictor=predictor, load_ms=(time.perf_counter() - started) * 1000.0)
