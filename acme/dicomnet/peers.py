"""AE titles and the calling-AE allow list of the receiver (light: no pynetdicom here).

An AE title is 1 to 16 characters of the DICOM default repertoire without backslash or
control characters, not all spaces (PS3.5 Table 6.2-1, VR AE); leading and trailing spaces
are not significant. An allow-list entry is ``TITLE`` (any address) or ``TITLE@ADDRESS``
where the address is an IP address or a CIDR block (``ORTHANC@10.1.2.0/24``). An association
is accepted only when its calling AE title and the peer's address match an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated, Final

from pydantic import AfterValidator

_AE_TITLE: Final = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def check_ae_title(value: str) -> str:
    """``value`` stripped, if it is a valid AE title; :class:`ValueError` naming why not."""
    title = value.strip()
    if not title or not _AE_TITLE.match(value) or len(value) > 16:
        raise ValueError(
            f"{value!r} is not an AE title (1-16 printable ASCII characters, no backslash,"
            " not only spaces)"
        )
    return title


AETitle = Annotated[str, AfterValidator(check_ae_title)]
"""A validated AE title (pydantic field type), stripped of padding spaces."""


@dataclass(frozen=True)
class AllowedPeer:
    """One entry of the allow list: an AE title, and the network it may call from."""

    ae_title: str
    network: IPv4Network | IPv6Network | None = None

    def permits(self, ae_title: str, address: str) -> bool:
        if ae_title.strip() != self.ae_title:
            return False
        if self.network is None:
            return True
        try:
            return ip_address(address) in self.network
        except ValueError:
            return False

    def __str__(self) -> str:
        return self.ae_title if self.network is None else f"{self.ae_title}@{self.network}"


def parse_allow_list(text: str) -> tuple[AllowedPeer, ...]:
    """The entries of a comma-separated allow list; :class:`ValueError` naming a bad one."""
    peers = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        title, _, where = part.partition("@")
        try:
            network = ip_network(where, strict=False) if where else None
        except ValueError:
            raise ValueError(f"{part!r}: {where!r} is not an IP address or CIDR block") from None
        peers.append(AllowedPeer(check_ae_title(title), network))
    return tuple(peers)


def permitted(peers: tuple[AllowedPeer, ...], ae_title: str, address: str) -> bool:
    """True when some entry admits ``ae_title`` calling from ``address`` (none: refuse all)."""
    return any(peer.permits(ae_title, address) for peer in peers)
