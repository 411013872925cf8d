"""Sending DICOM objects to a destination: the :class:`Sender` interface and its registry.

One adapter per protocol, one file each: :class:`~acme.dicomnet.dimse.DimseSender` (C-STORE
and C-ECHO over an association) and :class:`~acme.dicomnet.stow.StowSender` (DICOMweb
STOW-RS). :func:`make_sender` picks the adapter for a destination's ``type``;
:class:`RecordingSender` is the test double. Every failure is a :class:`SendError` naming
the destination and what went wrong, never patient attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydicom.dataset import Dataset

from acme.dicomnet.destinations import Destination, DicomwebDestination, DimseDestination
from acme.errors import AcmeError

__all__ = ["RecordingSender", "SendError", "Sender", "make_sender"]


class SendError(AcmeError):
    """A destination could not be reached or did not accept an object."""

    def __init__(self, destination: str, detail: str) -> None:
        self.destination = destination
        self.detail = detail
        super().__init__(f"destination {destination!r}: {detail}")


class Sender(Protocol):
    """One destination, as dispatch and ``acme pacs`` use it."""

    def echo(self) -> None:
        """Check the destination answers (C-ECHO, or a QIDO-RS query); :class:`SendError`."""
        ...

    def send(self, instances: Sequence[Dataset]) -> None:
        """Store every instance (each with its file meta); :class:`SendError` unless the
        destination accepted them all."""
        ...


def make_sender(name: str, destination: Destination, *, calling_ae_title: str) -> Sender:
    """The adapter of ``destination``'s type; ``calling_ae_title`` unless it sets its own."""
    if isinstance(destination, DimseDestination):
        from acme.dicomnet.dimse import DimseSender

        return DimseSender(
            name, destination, calling_ae_title=destination.calling_ae_title or calling_ae_title
        )
    if isinstance(destination, DicomwebDestination):
        from acme.dicomnet.stow import StowSender

        return StowSender(name, destination)
    raise SendError(name, f"no sender for destinations of type {destination.type!r}")


@dataclass
class RecordingSender:
    """The test double: keeps what it was sent; fails with ``error`` while it is set."""

    name: str = "recording"
    error: str | None = None
    sent: list[Dataset] = field(default_factory=list)
    echoes: int = 0

    def echo(self) -> None:
        if self.error is not None:
            raise SendError(self.name, self.error)
        self.echoes += 1

    def send(self, instances: Sequence[Dataset]) -> None:
        if self.error is not None:
            raise SendError(self.name, self.error)
        self.sent.extend(instances)
