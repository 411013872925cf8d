"""A loaded model: its session, batching, and the findings of a series.

:meth:`Predictor.run` feeds one batch through the session in chunks the graph accepts.
:meth:`Predictor.predict` does the same, but requests that arrive together from several
threads (a function serving concurrent events) share session runs: the first caller waits
``batch_wait`` seconds for others, then runs everything pending in one batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from acme.events.models import Finding
from acme.models._card import ModelCard
from acme.models._errors import ModelMismatchError
from acme.models._registry import RegisteredModel
from acme.models._session import Device, RunsOn, open_session, runs_on, session_provider

Batch = NDArray[np.float32]
Scores = NDArray[np.float32]


class _Request:
    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.result: Scores | None = None
        self.error: Exception | None = None
        self.done = threading.Event()


class _Batcher:
    """Combines concurrent :meth:`submit` calls into shared runs (leader/follower, no thread)."""

    def __init__(self, run: Callable[[Batch], Scores], wait: float) -> None:
        self._run = run
        self._wait = wait
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._pending: list[_Request] = []

    def submit(self, batch: Batch) -> Scores:
        request = _Request(batch)
        with self._lock:
            self._pending.append(request)
            leader = len(self._pending) == 1
        if leader:
            if self._wait > 0:
                time.sleep(self._wait)
            with self._run_lock:
                with self._lock:
                    taken, self._pending = self._pending, []
                self._execute(taken)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _execute(self, requests: list[_Request]) -> None:
        try:
            scores = self._run(np.concatenate([request.batch for request in requests]))
        except Exception as exc:
            for request in requests:
                request.error = exc
            raise
        else:
            start = 0
            for request in requests:
                request.result = scores[start : start + len(request.batch)]
                start += len(request.batch)
        finally:
            for request in requests:
                request.done.set()


class Predictor:
    """One model loaded in one session, ready to score batches of preprocessed images."""

    def __init__(
        self, card: ModelCard, session: Any, *, max_batch: int = 8, batch_wait: float = 0.0
    ) -> None:
        self.card = card
        self._session = session
        self.provider: str = session_provider(session)
        self.device: RunsOn = runs_on(self.provider)
        self._chunk = card.input.fixed_batch or max(1, max_batch)
        self._batcher = _Batcher(self.run, batch_wait)

    @classmethod
    def load(
        cls,
        model: RegisteredModel,
        *,
        device: Device = "auto",
        threads: int = 0,
        max_batch: int = 8,
        batch_wait: float = 0.0,
        available: Sequence[str] | None = None,
    ) -> Predictor:
        session = open_session(
            model.onnx, device=device, threads=threads, available=available, where=model.card.ref
        )
        return cls(model.card, session, max_batch=max_batch, batch_wait=batch_wait)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        spec = self.card.input
        return spec.channels, spec.height, spec.width

    def run(self, batch: Batch) -> Scores:
        """Probabilities, shape (images, labels), for ``batch`` of shape (images, C, H, W)."""
        if batch.ndim != 4 or tuple(batch.shape[1:]) != self.input_shape:
            raise ModelMismatchError(
                f"{self.card.ref}: a batch of shape {list(batch.shape)} does not fit the input "
                f"[batch, {', '.join(map(str, self.input_shape))}]"
            )
        step = self._chunk
        parts = [self._run_chunk(batch[i : i + step]) for i in range(0, len(batch), step)]
        if not parts:
            return np.zeros((0, len(self.card.labels)), dtype=np.float32)
        scores = np.concatenate(parts).astype(np.float64)
        if self.card.output.kind == "logits":
            scores = 1.0 / (1.0 + np.exp(-scores))
        out: Scores = np.clip(scores, 0.0, 1.0).astype(np.float32)
        return out

    def predict(self, batch: Batch) -> Scores:
        """:meth:`run`, sharing session runs with concurrent callers."""
        return self._batcher.submit(np.ascontiguousarray(batch, dtype=np.float32))

    def _run_chunk(self, chunk: Batch) -> Scores:
        count = len(chunk)
        fixed = self.card.input.fixed_batch
        if fixed is not None and count < fixed:
            padding = np.zeros((fixed - count, *chunk.shape[1:]), dtype=np.float32)
            chunk = np.concatenate([chunk, padding])
        (scores,) = self._session.run([self.card.output.name], {self.card.input.name: chunk})
        result: Scores = np.asarray(scores, dtype=np.float32)[:count]
        return result


def best_images(card: ModelCard, scores: Scores) -> list[int]:
    """Per label of ``card``, the index of the image of the series that scored it highest."""
    if scores.ndim != 2 or scores.shape[1] != len(card.labels) or len(scores) == 0:
        raise ModelMismatchError(
            f"{card.ref}: scores of shape {list(scores.shape)}; expected [images >= 1, "
            f"{len(card.labels)}]"
        )
    return [int(np.argmax(scores[:, column])) for column in range(len(card.labels))]


def series_findings(
    card: ModelCard, scores: Scores, sop_uids: Sequence[str] | None = None
) -> list[Finding]:
    """Per label, the most suspicious image of the series decides (max over images).

    ``sop_uids[i]`` names the instance of image ``i``; the finding names the one that gave
    its probability. The label's code is the card's.
    """
    findings = []
    for column, (spec, image) in enumerate(
        zip(card.labels, best_images(card, scores), strict=True)
    ):
        probability = float(scores[image, column])
        findings.append(
            Finding(
                label=spec.name,
                probability=probability,
                threshold=spec.threshold,
                positive=probability >= spec.threshold,
                sop_uid=sop_uids[image] if sop_uids is not None else None,
                code=spec.coding,
            )
        )
    return findings
