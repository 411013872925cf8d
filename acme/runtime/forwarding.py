"""What the gateway tells a function about the request it forwards.

The gateway is a proxy: it decides who the client is (:func:`acme.clientaddr.client_address`
with ``ACME_TRUSTED_PROXIES``), removes every forwarding header the client sent, and writes its
own: ``X-Forwarded-For`` (the client alone, never appended to), ``-Host``, ``-Proto`` and
``-Prefix``, and ``X-Acme-Forwarded``, a short-lived token for the function's audience, signed
with the delivery key, whose ``client_ip`` claim is that client. A function believes the
address in a verified ``X-Acme-Forwarded`` and nothing else a client could write
(docs/decisions/0054-trusted-proxies.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from acme.auth import TokenSource
from acme.auth._delivery import AUDIENCE_PREFIX, CLIENT_CLAIM, FORWARDED_HEADER
from acme.clientaddr import Network, client_address

FORWARDED_TOKEN_HEADER: Final = FORWARDED_HEADER.lower()
CLIENT_HEADERS: Final = frozenset(
    {"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
     "x-forwarded-prefix", "x-forwarded-port", "x-real-ip", FORWARDED_TOKEN_HEADER}
)  # fmt: skip
"""Headers a client may not set on a forwarded request: the gateway writes its own."""


class Forwarding:
    """The gateway's forwarding policy: trusted proxies, and the token it vouches with."""

    def __init__(
        self,
        trusted: Sequence[Network],
        tokens: TokenSource,
        audiences: Mapping[str, str] | None = None,
    ) -> None:
        self.trusted = tuple(trusted)
        self._tokens = tokens
        self._audiences = dict(audiences or {})

    def client(self, peer: str | None, headers: Mapping[str, str]) -> str:
        return client_address(peer, headers, self.trusted)

    def headers(
        self, function: str, client: str, *, host: str, proto: str
    ) -> list[tuple[bytes, bytes]]:
        """The forwarding headers of a request to ``function`` from ``client``."""
        audience = self._audiences.get(function, f"{AUDIENCE_PREFIX}{function}")
        token = self._tokens.token(audience, use="forwarded", **{CLIENT_CLAIM: client})
        return [
            (b"x-forwarded-for", client.encode()),
            (b"x-forwarded-host", host.encode("latin-1", "replace")),
            (b"x-forwarded-proto", proto.encode()),
            (b"x-forwarded-prefix", f"/function/{function}".encode()),
            (FORWARDED_TOKEN_HEADER.encode(), token.encode()),
        ]
