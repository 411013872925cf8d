"""The DICOMweb STOW-RS adapter of :class:`~acme.dicomnet.senders.Sender` (dicomweb-client).

``send`` posts every object in one multipart request to ``<url>/studies``; an HTTP error, or a
response whose Failed SOP Sequence is not empty, fails it. ``echo`` is a QIDO-RS query for one
study (it checks reachability and credentials). The password is read from ``password_file``
at each call, so a rotated secret is picked up without a restart.

Each call is one HTTP request: dicomweb-client's own retrying (five tries with exponential
waits, on any connection error: 30 s against a service that is down) is turned off, so the
trigger's retry policy in stack.yml is the only one and an attempt fails as soon as the
service does (docs/decisions/0129-one-retry-policy-for-destinations.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from acme.dicomnet.destinations import DicomwebDestination
from acme.dicomnet.senders import SendError

__all__ = ["StowSender"]


class StowSender:
    """Sends to one DICOMweb service."""

    def __init__(self, name: str, destination: DicomwebDestination) -> None:
        self.name = name
        self.destination = destination

    def echo(self) -> None:
        try:
            self._client().search_for_studies(limit=1)
        except (requests.RequestException, OSError) as exc:
            raise SendError(self.name, f"QIDO-RS query failed: {_describe(exc)}") from None

    def send(self, instances: Sequence[Dataset]) -> None:
        try:
            response = self._client().store_instances(list(instances))
        except (requests.RequestException, OSError) as exc:
            raise SendError(self.name, f"STOW-RS failed: {_describe(exc)}") from None
        failed = response.get("FailedSOPSequence") if response is not None else None
        if failed:
            reasons = ", ".join(f"0x{int(item.get('FailureReason', 0)):04X}" for item in failed)
            raise SendError(self.name, f"STOW-RS refused {len(failed)} object(s): {reasons}")

    def _client(self) -> DICOMwebClient:
        dest = self.destination
        session = requests.Session()
        if dest.username is not None and dest.password_file is not None:
            try:
                password = dest.password_file.read_text().strip()
            except OSError as exc:
                raise SendError(
                    self.name, f"password_file: cannot read it ({exc.strerror})"
                ) from None
            session.auth = (dest.username, password)
        if dest.ca_file is not None:
            session.verify = str(dest.ca_file)
        client = DICOMwebClient(url=dest.url, session=session, timeout=dest.timeout)
        client.set_http_retry_params(retry=False)
        return client


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
