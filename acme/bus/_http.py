"""The K_SINK adapter of :class:`~acme.bus.Bus`: binary-mode CloudEvents over HTTP."""

from __future__ import annotations

import httpx
from cloudevents.http import CloudEvent

from acme.auth import TokenSource
from acme.bus._wire import binary_http
from acme.errors import BusError


class HttpSinkBus:
    """POSTs each event in binary mode to a Knative sink (``K_SINK``); any 2xx accepts it.

    Every POST carries ``Authorization: Bearer`` with a token of ``tokens`` for ``audience``
    (the sink's: a Broker announces it as ``status.address.audience``), as Knative's OIDC
    sender identity does. ``transport`` may be injected (``httpx.MockTransport`` in tests).
    Connection failures are retried twice by the transport; a non-2xx answer raises
    :class:`BusError` with the status (the response body is not quoted: it may echo event data).
    """

    def __init__(
        self,
        sink: str,
        *,
        tokens: TokenSource,
        audience: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._sink = sink
        self._tokens = tokens
        self._audience = audience
        self._client = httpx.Client(
            timeout=timeout, transport=transport or httpx.HTTPTransport(retries=2)
        )

    def publish(self, event: CloudEvent) -> None:
        headers, body = binary_http(event)
        headers["Authorization"] = f"Bearer {self._tokens.token(self._audience)}"
        what = f"{event['type']} {event['id']}"
        try:
            response = self._client.post(self._sink, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise BusError(
                f"posting {what} to K_SINK {self._sink} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if not response.is_success:
            raise BusError(
                f"K_SINK {self._sink} answered HTTP {response.status_code} for {what}; expected 2xx"
            )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpSinkBus:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
