"""acme-function: functions-framework's options, its THREADS, and one-line start errors."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from acme_platform import wait_until
from click.testing import CliRunner

from acme.log import REDACTED
from acme.runtime.serve import main, threads_from_environment
from acme.stack.ports import free_port

HELLO = Path(__file__).parents[2] / "fixtures" / "functions" / "hello" / "main.py"


def test_threads_default_to_four_per_cpu_as_in_functions_framework() -> None:
    assert threads_from_environment({}) == (os.cpu_count() or 1) * 4
    assert threads_from_environment({"THREADS": "3"}) == 3


@pytest.mark.parametrize("value", ["0", "-2", "four"])
def test_threads_that_are_not_a_positive_number_are_refused(value: str) -> None:
    with pytest.raises(click.BadParameter, match="THREADS"):
        threads_from_environment({"THREADS": value})


def test_a_missing_target_is_one_line_and_exit_status_1() -> None:
    result = CliRunner().invoke(main, ["--source", str(HELLO), "--target", "nope"])
    assert result.exit_code == 1
    assert "expected to contain a function named 'nope'" in result.output
    assert "Traceback" not in result.output


def test_a_missing_source_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--source", str(tmp_path / "main.py"), "--target", "x"])
    assert result.exit_code == 1
    assert "main.py that is expected to define function doesn't exist" in result.output


@contextmanager
def _serving(source: Path, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """``acme-function`` serving ``source``'s ``handler`` on a free port, once it answers;
    killed afterwards if still running. Its standard error is a pipe."""
    port = free_port("127.0.0.1")
    process = subprocess.Popen(
        [sys.executable, "-m", "acme.runtime.serve", "--source", str(source), "--target",
         "handler", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen,
    )  # fmt: skip

    def answers() -> bool:
        assert process.poll() is None, "the function exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).is_success
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, 60, "the function to answer")
        yield process
    finally:
        process.kill()
        process.communicate()


def test_sigint_stops_it_also_when_started_with_sigint_ignored() -> None:
    """As from a shell's background job (``acme up &``, nohup): the stop signal still works."""
    ignore_sigint = functools.partial(signal.signal, signal.SIGINT, signal.SIG_IGN)
    with _serving(HELLO, preexec_fn=ignore_sigint) as process:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


_LOGS_PHI = """
import functions_framework
from acme.log import configure_logging, get_logger
from acme.settings import load_settings

@functions_framework.http
def handler(request):
    configure_logging(load_settings(), service="probe")  # as a function does at its first request
    get_logger("probe").info("patient looked up", patient_name="Doe^John")
    return "ok"
"""


def test_each_line_is_logged_once_and_masked(tmp_path: Path) -> None:
    """waitress calls ``logging.basicConfig()`` as it starts, before the function configures
    its logging: that handler must not stay and print every line again, unmasked."""
    (tmp_path / "main.py").write_text(_LOGS_PHI)
    env = {**os.environ, "ACME_HOME": str(tmp_path / "home"), "ACME_LOG_FORMAT": "json"}
    with _serving(tmp_path / "main.py", env=env) as process:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    lines = [line for line in err.splitlines() if "patient looked up" in line]
    assert len(lines) == 1, err
    assert json.loads(lines[0])["patient_name"] == REDACTED
    assert "Doe^John" not in err
