"""The runtime's Prometheus metrics, held in one registry object passed to whoever records."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "RuntimeMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_COLD_START_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 120)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class RuntimeMetrics:
    """The pool's and the gateway's metrics, registered in ``registry`` (a new one by default).

    The event router registers its own delivery metrics in the same registry.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.cold_start = Histogram(
            "acme_function_cold_start_seconds",
            "Seconds from starting a function's process until it answers HTTP.",
            ["function"],
            buckets=_COLD_START_BUCKETS,
            registry=self.registry,
        )
        self.proxied = Histogram(
            "acme_gateway_request_seconds",
            "Seconds the gateway took to proxy a request to a function, any cold start included.",
            ["function", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "acme_function_in_flight",
            "Requests and events a function is handling or starting for (open leases).",
            ["function"],
            registry=self.registry,
        )
        self.replicas = Gauge(
            "acme_function_replicas",
            "Running and ready processes of a function (0 when scaled to zero).",
            ["function"],
            registry=self.registry,
        )
        self.starts = Counter(
            "acme_function_starts",
            "Processes started for a function (first start, cold start or restart).",
            ["function"],
            registry=self.registry,
        )
        self.crashes = Counter(
            "acme_function_crashes",
            "Times a function's process exited without being asked to.",
            ["function"],
            registry=self.registry,
        )

    def declare(self, function: str) -> None:
        """Show ``function``'s series at zero before anything happens to it."""
        self.in_flight.labels(function)
        self.replicas.labels(function).set(0)
        self.starts.labels(function)
        self.crashes.labels(function)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
