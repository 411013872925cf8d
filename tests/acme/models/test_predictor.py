"""Execution providers, sessions, batching and per-series scores."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from acme.errors import ConfigError
from acme.models import (
    CPU,
    CUDA,
    ModelCache,
    ModelCard,
    ModelRegistry,
    Predictor,
    RegisteredModel,
    available_providers,
    best_images,
    choose_providers,
    runs_on,
    series_findings,
)
from acme.models._card import OutputSpec


def test_cuda_is_taken_when_offered_and_the_cpu_otherwise() -> None:
    assert choose_providers("auto", [CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers("auto", ["AzureExecutionProvider", CPU]) == [CPU]
    assert choose_providers("cpu", [CUDA, CPU]) == [CPU]
    with pytest.raises(ConfigError, match="ACME_INFERENCE_DEVICE: 'cuda' asked for, but this"):
        choose_providers("cuda", [CPU])
    assert (runs_on(CUDA), runs_on(CPU)) == ("cuda", "cpu")


def test_without_cuda_the_session_runs_on_the_cpu_and_says_so(
    shipped: tuple[ModelCard, bytes],
) -> None:
    card, onnx_bytes = shipped
    predictor = Predictor.load(RegisteredModel(card, onnx_bytes), available=[CPU])
    assert (predictor.provider, predictor.device) == (CPU, "cpu")
    here = Predictor.load(RegisteredModel(card, onnx_bytes))
    expected = CUDA if CUDA in available_providers() else CPU
    assert here.provider in (expected, CPU)  # onnxruntime falls back when CUDA cannot start


class _FakeSession:
    """Answers like onnxruntime: logits of 0 per label, after ``delay``; counts runs."""

    def __init__(self, labels: int, delay: float) -> None:
        self.labels, self.delay = labels, delay
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def get_providers(self) -> list[str]:
        return [CPU]

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (batch,) = feeds.values()
        with self._lock:
            self.batches.append(len(batch))
        time.sleep(self.delay)
        return [batch.reshape(len(batch), -1)[:, : self.labels] * 0.0]


def _logits_card(card: ModelCard) -> ModelCard:
    return card.model_copy(update={"output": OutputSpec(name="probabilities", kind="logits")})


def test_requests_arriving_together_share_a_session_run(shipped: tuple[ModelCard, bytes]) -> None:
    card = _logits_card(shipped[0])
    session = _FakeSession(len(card.labels), delay=0.05)
    predictor = Predictor(card, session, max_batch=64, batch_wait=0.02)
    results: list[Any] = [None] * 6

    def call(i: int) -> None:
        results[i] = predictor.predict(np.full((1, 1, 224, 224), float(i), dtype=np.float32))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(session.batches) == 6 and len(session.batches) < 6
    for result in results:
        np.testing.assert_allclose(result, [[0.5, 0.5]])  # sigmoid(0), applied for logits


def test_a_fixed_batch_graph_is_fed_in_batches_it_accepts(
    densenet: tuple[ModelCard, bytes],
) -> None:
    card, _ = densenet
    session = _FakeSession(len(card.labels), delay=0.0)
    predictor = Predictor(card, session, max_batch=8)
    scores = predictor.run(np.zeros((3, 1, 224, 224), dtype=np.float32))
    assert scores.shape == (3, 14) and session.batches == [1, 1, 1]


def test_a_series_is_scored_by_its_most_suspicious_image(
    shipped: tuple[ModelCard, bytes],
) -> None:
    card, _ = shipped
    threshold = card.labels[0].threshold
    scores = np.array([[0.1, 0.9], [min(1.0, threshold + 0.01), 0.2]], dtype=np.float32)
    opacity, effusion = series_findings(card, scores, ["1.2.3.1", "1.2.3.2"])
    assert (opacity.sop_uid, opacity.positive) == ("1.2.3.2", True)
    assert (effusion.sop_uid, effusion.probability) == ("1.2.3.1", pytest.approx(0.9))
    assert best_images(card, scores) == [1, 0]
    assert opacity.code == card.labels[0].coding


def test_the_cache_loads_a_model_once(shipped: tuple[ModelCard, bytes]) -> None:
    from acme.storage import InMemoryObjectStore

    registry = ModelRegistry(InMemoryObjectStore(("models",)), "models")
    registry.register(*shipped)
    cache = ModelCache()
    first = cache.get(registry, "cxr-synthetic")
    second = cache.get(registry, "cxr-synthetic")
    assert first.load_ms > 0 and second.load_ms == 0
    assert second.predictor is first.predictor
    assert first.predictor.card.version == "1.0.0"
