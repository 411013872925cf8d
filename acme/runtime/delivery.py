"""One delivery attempt of a CloudEvent to a function over HTTP, and what its answer means.

The classification follows docs/architecture.md §8 (Knative Eventing's broker contract):

==========================================  ==========================================
answer                                      outcome
==========================================  ==========================================
2xx                                         :attr:`Outcome.DELIVERED` (ack)
5xx, 408, 429, timeout, connection error    :attr:`Outcome.RETRY` (backoff, then DLQ)
function could not be started               :attr:`Outcome.RETRY`
any other status (4xx, 1xx, 3xx)            :attr:`Outcome.REJECTED` (DLQ, no retry)
==========================================  ==========================================

:class:`DeliveryMetrics` holds the router's Prometheus metrics, registered in the registry the
caller passes (never the global one).
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = [
    "BODY_LIMIT",
    "DeliveryMetrics",
    "DeliveryResult",
    "Outcome",
    "backoff_delay",
    "classify",
    "deliver",
]

BODY_LIMIT: Final = 2048
"""Characters of a function's answer kept for the dead letter."""

JITTER: Final = 0.1
"""Relative jitter of a retry delay: the delay is multiplied by a factor in [0.9, 1.1]."""

_RETRIED_STATUSES: Final = frozenset({408, 429})
_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Outcome(enum.StrEnum):
    """What the router does with an event after one attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The result of one attempt: an HTTP status, or an error that prevented one."""

    outcome: Outcome
    status: int | None = None
    body: str = ""
    error: str | None = None
    elapsed: float = 0.0

    def describe(self) -> str:
        """``http 500``, ``timeout``, ``connection error (ConnectError)``..."""
        if self.status is not None:
            return f"http {self.status}"
        return self.error or "no answer"

    @classmethod
    def failed(cls, error: str, elapsed: float = 0.0) -> DeliveryResult:
        """An attempt that got no HTTP answer (retried)."""
        return cls(Outcome.RETRY, error=error, elapsed=elapsed)


def classify(status: int) -> Outcome:
    """The outcome of an HTTP status (table in the module docstring)."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status >= 500 or status in _RETRIED_STATUSES:
        return Outcome.RETRY
    return Outcome.REJECTED


def backoff_delay(
    attempt: int, *, base: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    ``base * 2**(attempt - 1)``, capped at ``maximum``, times a jitter factor in [0.9, 1.1]
    (the result never exceeds ``maximum``).
    """
    if attempt < 1:
        raise ValueError(f"attempt: expected a number >= 1, got {attempt}")
    exponential = base * 2.0 ** min(attempt - 1, 64)
    low, high = 1 - JITTER, 1 + JITTER
    factor = rng.uniform(low, high) if rng is not None else random.uniform(low, high)
    return min(min(exponential, maximum) * factor, maximum)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout: float,
) -> DeliveryResult:
    """POST one binary-mode CloudEvent to ``url``; never raises for what the function does.

    ``timeout`` bounds the whole attempt (connect, send, answer); at most :data:`BODY_LIMIT`
    characters of the answer are read.
    """
    began = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            request = client.build_request(
                "POST", url, headers=dict(headers), content=body, timeout=timeout
            )
            response = await client.send(request, stream=True)
            try:
                text = await _head(response)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return DeliveryResult.failed("timeout", time.monotonic() - began)
    except httpx.TransportError as exc:
        return DeliveryResult.failed(
            f"connection error ({type(exc).__name__})", time.monotonic() - began
        )
    return DeliveryResult(
        classify(response.status_code),
        status=response.status_code,
        body=text,
        elapsed=time.monotonic() - began,
    )


async def _head(response: httpx.Response) -> str:
    """The first :data:`BODY_LIMIT` characters of the answer (decoded leniently)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT * 4:
            break
    return b"".join(chunks).decode("utf-8", "replace")[:BODY_LIMIT]


class DeliveryMetrics:
    """The router's metrics, registered in ``registry``.

    - ``acme_router_deliveries_total{function, outcome}``: attempts by outcome
      (``delivered``, ``retry``, ``rejected``), plus ``filtered`` for events a trigger skipped.
    - ``acme_router_delivery_seconds{function}``: duration of each HTTP attempt.
    - ``acme_router_retries_total{function}``: redeliveries scheduled.
    - ``acme_router_dead_letters_total{function, kind}``: dead letters by kind
      (``exhausted``, ``rejected``, ``malformed``).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "acme_router_deliveries",
            "Delivery attempts of events to functions, by outcome.",
            ["function", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "acme_router_delivery_seconds",
            "Duration of one HTTP delivery attempt.",
            ["function"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "acme_router_retries",
            "Redeliveries scheduled after a failed attempt.",
            ["function"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "acme_router_dead_letters",
            "Events moved to the dead-letter stream, by kind.",
            ["function", "kind"],
            registry=registry,
        )

    def attempted(self, function: str, result: DeliveryResult) -> None:
        self.deliveries.labels(function, result.outcome.value).inc()
        if result.status is not None or result.error == "timeout":
            self.latency.labels(function).observe(result.elapsed)
