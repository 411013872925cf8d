"""ManagedProcess: a child stops on its stop signal even when acme up ignores that signal."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acme.stack.process import ManagedProcess

_SLEEPS = "import sys, time; print('up', flush=True); time.sleep(60)"


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """This process ignores SIGINT, as one started from a shell's background job does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_child_stops_on_sigint_although_its_parent_ignores_it(
    tmp_path: Path, sigint_ignored: None
) -> None:
    child = ManagedProcess(
        "sleeper",
        [sys.executable, "-c", _SLEEPS],
        log_path=tmp_path / "log",
        stop_signal=signal.SIGINT,
        stop_timeout=10.0,
    )
    child.start()
    deadline = time.monotonic() + 10
    while "up" not in (tmp_path / "log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.stop()
    assert child.exit_code() == -signal.SIGINT  # its KeyboardInterrupt, not the kill after 10 s
