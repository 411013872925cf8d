"""The PACS destinations dispatch sends results to: one YAML file (``ACME_DESTINATIONS_FILE``).

::

    destinations:
      pacs:                        # the name (lower-case letters, digits, '-')
        type: dimse                # DICOM C-STORE
        host: 10.1.2.3
        port: 104
        ae_title: PACS             # the destination's (called) AE title
        calling_ae_title: ACME     # optional; default ACME_DICOM_AE_TITLE
        send_on: [drafted, signed] # which report events send to it
        key_object: secondary-capture   # or encapsulated-pdf, or none
        timeout: 30                # seconds per association step / HTTP request
      archive-web:
        type: dicomweb             # DICOMweb STOW-RS
        url: https://pacs.example/dicom-web
        username: acme             # optional HTTP basic authentication ...
        password_file: /run/secrets/pacs-password   # ... its password, read when sending
        ca_file: /etc/ssl/hospital-ca.pem           # optional CA bundle for https
        send_on: [signed]
        key_object: encapsulated-pdf

Every level is a pydantic model with ``extra="forbid"`` and the two kinds are a union
discriminated on ``type``; a mistake names the file and the field. Secrets are never in the
file itself, only the paths of the files holding them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from acme.dicomnet.peers import AETitle
from acme.errors import ConfigError
from acme.events.models import describe_validation_error
from acme.events.values import DestinationName

__all__ = [
    "Destination",
    "DestinationsFile",
    "DicomwebDestination",
    "DimseDestination",
    "KeyObject",
    "ReportEvent",
    "load_destinations",
]

ReportEvent = Literal["drafted", "signed"]
"""A report event that sends to a destination: ``report.drafted`` or ``report.signed``."""

KeyObject = Literal["secondary-capture", "encapsulated-pdf", "none"]
"""What goes with the SR: the key image as Secondary Capture, the PDF as Encapsulated PDF."""

SETTING = "ACME_DESTINATIONS_FILE"


class _Destination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_on: tuple[ReportEvent, ...] = Field(min_length=1)
    key_object: KeyObject = "secondary-capture"
    timeout: float = Field(30.0, gt=0, le=600)


class DimseDestination(_Destination):
    """A DICOM C-STORE SCP (a PACS, a router, Orthanc)."""

    type: Literal["dimse"]
    host: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[^\s/]+$")]
    port: int = Field(ge=1, le=65535)
    ae_title: AETitle
    calling_ae_title: AETitle | None = None


class DicomwebDestination(_Destination):
    """A DICOMweb service taking STOW-RS at ``<url>/studies``."""

    type: Literal["dicomweb"]
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password_file: Path | None = None
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _credentials_pair(self) -> DicomwebDestination:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        return self


Destination = Annotated[DimseDestination | DicomwebDestination, Field(discriminator="type")]


class DestinationsFile(BaseModel):
    """The whole destinations file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    destinations: dict[DestinationName, Destination] = Field(default_factory=dict)

    def named(self, name: str) -> Destination:
        """The destination ``name``; :class:`ConfigError` listing the known ones."""
        found = self.destinations.get(name)
        if found is None:
            known = ", ".join(sorted(self.destinations)) or "none"
            raise ConfigError(SETTING, f"no destination named {name!r} (configured: {known})")
        return found

    def sending_on(self, event: ReportEvent) -> list[str]:
        """The names of the destinations ``event`` sends to, in file order."""
        return [name for name, dest in self.destinations.items() if event in dest.send_on]


def load_destinations(path: Path | None) -> DestinationsFile:
    """Read and validate the file (none configured: no destinations)."""
    if path is None:
        return DestinationsFile()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(SETTING, f"{path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(SETTING, f"{path}: not valid YAML: {exc}") from None
    try:
        return DestinationsFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(SETTING, f"{path}: {describe_validation_error(exc)}") from None
