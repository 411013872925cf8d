"""Run ``acme`` as a real child process with a controlled environment, and watch its servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from acme.stack.state import StackState, read_state

ACME = [sys.executable, "-m", "acme.cli.main"]


def clean_env(**acme: str) -> dict[str, str]:
    """The current environment without any ACME_*/K_SINK variable, plus ``acme`` (and the
    DICOM receiver on a free port unless ``acme`` says otherwise)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_") and k != "K_SINK"}
    env["ACME_DICOM_PORT"] = "0"  # the receiver's default port may be taken by another run
    env.update(acme)
    return env


def run_acme(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ACME, *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def wait_for_state(home: Path, proc: subprocess.Popen[str], timeout: float = 30) -> StackState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(home)
        if state is not None and state.pid == proc.pid:
            return state
        if proc.poll() is not None:
            _out, err = proc.communicate()
            raise AssertionError(f"acme up exited {proc.returncode}: {err}")
        time.sleep(0.1)
    raise AssertionError("acme up did not become ready")


def server_pids(state: StackState) -> list[int]:
    return [s.pid for s in state.servers.values() if s.pid is not None]


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            continue
    return living


def processes_using(home: Path) -> list[int]:
    """Every process whose command line mentions ``home`` (servers keep their data there)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(home) in cmdline and proc.info["pid"] != os.getpid():
            found.append(proc.info["pid"])
    return found


def start_up(started: list[subprocess.Popen[str]], env: Mapping[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*ACME, "up"], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    started.append(proc)
    return proc


def status_json(env: Mapping[str, str]) -> dict[str, object]:
    result = run_acme("status", "--json", env=env)
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed
