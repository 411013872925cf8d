"""A bad setting fails ``acme up`` at start with one clear line naming the setting."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from stackprocs import clean_env, processes_using, run_acme, start_up, wait_for_state

from acme.settings import Settings
from acme.stack.ports import free_port


@pytest.fixture
def external(stack_settings: Settings) -> dict[str, str]:
    """ACME_*_URL variables for the session's running servers, so only one thing is wrong."""
    assert stack_settings.nats_url and stack_settings.database_url
    assert stack_settings.redis_url and stack_settings.s3_url
    return {
        "ACME_NATS_URL": stack_settings.nats_url,
        "ACME_DATABASE_URL": stack_settings.database_url,
        "ACME_REDIS_URL": stack_settings.redis_url,
        "ACME_S3_URL": stack_settings.s3_url,
    }


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line; anything else on stderr may only be notes, never a traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("acme: error")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_port_taken_names_the_port_setting(tmp_path: Path, taken_port: int) -> None:
    env = clean_env(ACME_HOME=str(tmp_path / "home"), ACME_REDIS_PORT=str(taken_port))
    line = _error_line(run_acme("up", env=env))
    assert line.startswith("acme: error: ACME_REDIS_PORT: ")
    assert f"port {taken_port}" in line and "in use" in line
    assert processes_using(tmp_path / "home") == [], "servers started before the error must stop"


def test_unreachable_url_names_the_url_setting(tmp_path: Path, external: dict[str, str]) -> None:
    closed = free_port("127.0.0.1")
    env = clean_env(
        ACME_HOME=str(tmp_path / "home"),
        **{**external, "ACME_NATS_URL": f"nats://127.0.0.1:{closed}"},
    )
    line = _error_line(run_acme("up", env=env))
    assert line.startswith(f"acme: error: ACME_NATS_URL: nats://127.0.0.1:{closed}: unreachable")


def test_wrong_database_password_is_told_apart(tmp_path: Path, external: dict[str, str]) -> None:
    url = external["ACME_DATABASE_URL"]
    scheme, rest = url.split("://", 1)
    user, host = rest.split(":", 1)[0], rest.split("@", 1)[1]
    wrong = f"{scheme}://{user}:not-the-password@{host}"
    env = clean_env(ACME_HOME=str(tmp_path / "home"), **{**external, "ACME_DATABASE_URL": wrong})
    line = _error_line(run_acme("up", env=env))
    assert line.startswith("acme: error: ACME_DATABASE_URL: ")
    assert "credentials: password authentication failed" in line
    assert "not-the-password" not in line, "a password must never be printed"


def test_unwritable_home_names_acme_home(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = _error_line(run_acme("up", env=clean_env(ACME_HOME=str(blocker / "home"))))
    assert line.startswith("acme: error: ACME_HOME: ") and "not a writable folder" in line


def test_malformed_setting_names_it(tmp_path: Path) -> None:
    env = clean_env(ACME_HOME=str(tmp_path / "home"), ACME_NATS_PORT="four")
    line = _error_line(run_acme("up", env=env))
    assert line.startswith("acme: error: ACME_NATS_PORT: ")


def test_second_up_on_the_same_home_is_refused(
    tmp_path: Path, external: dict[str, str], acme_up: list[subprocess.Popen[str]]
) -> None:
    env = clean_env(ACME_HOME=str(tmp_path / "home"), ACME_GATEWAY_PORT="0", **external)
    first = start_up(acme_up, env)
    wait_for_state(tmp_path / "home", first)
    line = _error_line(run_acme("up", env=env))
    assert line.startswith("acme: error: ACME_HOME: ") and f"pid {first.pid}" in line
    assert first.poll() is None, "the running stack must be left alone"
