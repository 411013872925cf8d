"""Fixtures for tests that run ``acme up`` as a child process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def acme_up() -> Iterator[list[subprocess.Popen[str]]]:
    """Start ``acme up`` processes; whatever a test leaves running is stopped afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()  # its servers die with it (PR_SET_PDEATHSIG)
                proc.wait()
                raise
