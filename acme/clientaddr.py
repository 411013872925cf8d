"""Who the client of an HTTP request is: the peer, or what trusted proxies say it was.

``X-Forwarded-For`` and RFC 7239 ``Forwarded`` are written by whoever sends the request, so
they count only when the direct peer is a proxy the operator trusts (``ACME_TRUSTED_PROXIES``,
empty by default). The hops are then read from the nearest backwards, skipping trusted proxies:
the first address that is not a trusted proxy is the client. A hop that is not an IP address
(``unknown``, an obfuscated identifier, garbage) ends the walk at the last proxy before it.
``Forwarded`` wins over ``X-Forwarded-For`` when both are present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Final

Network = IPv4Network | IPv6Network
UNKNOWN: Final = "0.0.0.0"
"""The address recorded when not even the peer's address is known."""
_FOR: Final = re.compile(r'(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)', re.IGNORECASE)


def parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    """An address from a header value: ``203.0.113.7``, ``[2001:db8::1]:4711``, ``1.2.3.4:80``."""
    value = text.strip().strip('"').strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def forwarded_hops(headers: Mapping[str, str]) -> list[str]:
    """The client-side hops the headers claim, nearest last (as proxies append them)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if "forwarded" in lowered:
        hops: list[str] = []
        for element in lowered["forwarded"].split(","):
            match = _FOR.search(element)
            hops.append(match.group(1) if match else "")
        return hops
    return [hop for hop in lowered.get("x-forwarded-for", "").split(",") if hop.strip()]


def client_address(peer: str | None, headers: Mapping[str, str], trusted: Sequence[Network]) -> str:
    """The client's address (see the module docstring), normalised; :data:`UNKNOWN` when
    not even the peer is an address."""
    current = parse_ip(peer or "")
    if current is None:
        return UNKNOWN
    for hop in reversed(forwarded_hops(headers)):
        if not _trusted(current, trusted):
            break
        previous = parse_ip(hop)
        if previous is None:
            break
        current = previous
    return str(current)


def _trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
