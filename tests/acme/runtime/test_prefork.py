"""The prefork and its children, started for real: what it refuses, how children end."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from acme.runtime.forked import ForkedProcess, Prefork, PreforkUnavailable

FUNCTIONS = Path(__file__).resolve().parents[2] / "fixtures" / "functions"


class Output:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)


@pytest.fixture
def prefork(tmp_path: Path) -> Iterator[Prefork]:
    prefork = Prefork(env=dict(os.environ), cwd=FUNCTIONS, log_path=tmp_path / "prefork.log")
    prefork.start()
    yield prefork
    prefork.stop()


def _child(prefork: Prefork, tmp_path: Path, argv: list[str], **env: str) -> ForkedProcess:
    child = prefork.process(
        "probe", [sys.executable, "-m", *argv], log_path=tmp_path / "probe.log", cwd=FUNCTIONS,
        env={**os.environ, **env}, stop_signal=signal.SIGINT, stop_timeout=5.0,
        on_output=Output(),
    )  # fmt: skip
    assert child is not None
    return child


def _serving_hello(prefork: Prefork, tmp_path: Path) -> ForkedProcess:
    """A forked child serving the test stack's hello function on a port of its choosing."""
    source = str(FUNCTIONS / "hello" / "main.py")
    argv = ["acme.runtime.serve", "--target", "handler", "--source", source, "--port", "0"]
    child = _child(prefork, tmp_path, argv)
    child.start()
    return child


def _wait(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_child_that_fails_reports_its_exit_code_and_output(
    prefork: Prefork, tmp_path: Path
) -> None:
    child = _child(
        prefork, tmp_path, ["acme.runtime.serve", "--target", "handler", "--source", "missing.py"]
    )
    child.start()
    assert child.pid is not None and child.pid != prefork.pid
    _wait(lambda: child.exit_code() is not None)
    assert child.exit_code() == 1
    _wait(lambda: "missing.py" in child.log_tail())
    assert "Error" in child.log_tail()


def test_only_the_platforms_entry_points_are_run(prefork: Prefork, tmp_path: Path) -> None:
    child = _child(prefork, tmp_path, ["http.server", "8000"])
    with pytest.raises(PreforkUnavailable, match="not a platform entry point"):
        child.start()
    assert child.pid is None


def test_a_malformed_request_is_refused_and_the_prefork_carries_on(
    prefork: Prefork, tmp_path: Path
) -> None:
    _child(prefork, tmp_path, ["acme.runtime.serve", "--source", "missing.py"]).start()  # ready
    read, write = os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect("\0" + prefork.socket_name)
        socket.send_fds(conn, [b'{"module": "acme.runtime.tick"}\n'], [write])
        answer = json.loads(conn.recv(4096))
    os.close(write)
    os.close(read)
    assert "validation error" in answer["error"] and "pid" not in answer
    child = _child(prefork, tmp_path, ["acme.runtime.serve", "--source", "missing.py"])
    child.start()  # still forking
    _wait(lambda: child.exit_code() is not None)
    assert child.exit_code() == 2  # click: --target is missing


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_a_connection_from_another_user_is_refused(prefork: Prefork, tmp_path: Path) -> None:
    assert prefork.pid is not None
    _child(
        prefork, tmp_path, ["acme.runtime.serve", "--target", "handler", "--source", "missing.py"]
    ).start()  # ready
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - in the child
        try:
            os.close(read)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect("\0" + prefork.socket_name)
                with contextlib.suppress(BrokenPipeError):  # refused before it read
                    socket.send_fds(conn, [b"{}"], [write])
                os.write(write, conn.recv(4096))
        except BaseException as exc:  # noqa: BLE001 - reported to the test, never raised here
            os.write(write, json.dumps({"error": f"in the child: {exc!r}"}).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    answer = json.loads(os.read(read, 4096))
    os.close(read)
    assert "is not this prefork's user" in answer["error"]


def test_a_child_dies_with_the_prefork(prefork: Prefork, tmp_path: Path) -> None:
    child = _serving_hello(prefork, tmp_path)
    assert child.pid is not None
    assert psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE
    assert prefork.pid is not None
    os.kill(prefork.pid, signal.SIGKILL)
    _wait(lambda: child.exit_code() is not None)
    assert child.exit_code() == -1  # its parent ended before it could report a code
    assert not psutil.pid_exists(child.pid) or psutil.Process(child.pid).status() == "zombie"
    _wait(lambda: not prefork.fits(dict(os.environ)))  # later starts are exec'd instead


def test_a_stopped_child_is_gone_with_its_code(prefork: Prefork, tmp_path: Path) -> None:
    child = _serving_hello(prefork, tmp_path)
    assert child.pid is not None
    _wait(lambda: psutil.Process(child.pid).net_connections(kind="tcp") != [])
    child.stop()
    assert child.exit_code() is not None
    assert not psutil.pid_exists(child.pid)


def test_a_launch_the_prefork_cannot_reproduce_is_left_to_exec(
    prefork: Prefork, tmp_path: Path
) -> None:
    """Interpreter variables take effect at its start, so a launch that changes one is not
    forked; a thread count is applied again in the child, unless the prefork set one that the
    launch does not."""
    argv = [sys.executable, "-m", "acme.runtime.serve"]
    options = {
        "log_path": tmp_path / "x.log", "cwd": FUNCTIONS, "stop_signal": signal.SIGINT,
        "stop_timeout": 1.0, "on_output": Output(),
    }  # fmt: skip
    same = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    assert prefork.process("x", argv, env=same, **options) is not None  # type: ignore[arg-type]
    threads = {**same, "OMP_NUM_THREADS": "3"}
    assert prefork.process("x", argv, env=threads, **options) is not None  # type: ignore[arg-type]
    hashed = {**same, "PYTHONHASHSEED": "3"}
    assert prefork.process("x", argv, env=hashed, **options) is None  # type: ignore[arg-type]
    other_program = ["/usr/bin/env", "true"]
    assert prefork.process("x", other_program, env=same, **options) is None  # type: ignore[arg-type]
    limited = Prefork(env=threads, cwd=FUNCTIONS, log_path=tmp_path / "limited.log")
    limited.start()
    try:
        assert limited.process("x", argv, env=same, **options) is None  # type: ignore[arg-type]
    finally:
        limited.stop()


_REPORT_THREADS = """
import json, threadpoolctl
blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
print(json.dumps(blas), flush=True)
raise SystemExit(0)
"""


@pytest.mark.parametrize(
    ("env", "threads"),
    [({"OMP_NUM_THREADS": "3"}, 3), ({"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1"}, 1)],
)
def test_a_child_gets_the_thread_counts_of_its_environment(
    prefork: Prefork, tmp_path: Path, env: dict[str, str], threads: int
) -> None:
    """numpy's BLAS was loaded by the prefork, before the child's variables existed."""
    source = tmp_path / "main.py"
    source.write_text(_REPORT_THREADS)
    argv = ["acme.runtime.serve", "--target", "handler", "--source", str(source)]
    child = _child(prefork, tmp_path, argv, **env)
    child.start()
    _wait(lambda: child.exit_code() is not None)
    assert child.exit_code() == 0, child.log_tail()
    counts = json.loads(child.log_tail().splitlines()[-1])
    assert counts and set(counts) == {threads}


_FORKED_HERE = """
import json, os, signal, sys, time
from pathlib import Path
from acme.runtime.forked import Prefork

folder, mode = Path(sys.argv[1]), sys.argv[2]
lines = []
prefork = Prefork.forked(log_path=folder / "prefork.log", on_output=lines.append)
if mode == "wait":
    print(prefork.pid, flush=True)
    time.sleep(600)
prefork.start()
argv = [sys.executable, "-m", "acme.runtime.serve", "--target", "handler", "--source", "missing.py"]
child = prefork.process(
    "probe", argv, log_path=folder / "probe.log", cwd=folder,
    env={**os.environ, "PYTHONUNBUFFERED": "1"}, stop_signal=signal.SIGINT, stop_timeout=5.0,
    on_output=lines.append,
)
child.start()
while child.exit_code() is None:
    time.sleep(0.05)
rollup = Path("/proc/self/smaps_rollup").read_text().splitlines()
shared_kb = next(int(line.split()[1]) for line in rollup if line.startswith("Shared_Dirty:"))
report = {
    "prefork_parent": Path(f"/proc/{prefork.pid}/stat").read_text().rsplit(")", 1)[1].split()[1],
    "code": child.exit_code(),
    "shared_mb": shared_kb / 1024, "me": os.getpid(),
}
prefork.stop()
report["prefork_gone"] = not Path(f"/proc/{prefork.pid}").exists()  # stopped and reaped
print(json.dumps(report), flush=True)
time.sleep(0.5)  # the output pump's last lines
print(json.dumps(lines), flush=True)
"""


def test_a_prefork_forked_from_a_process_shares_its_pages_and_forks_children(
    tmp_path: Path,
) -> None:
    """What ``acme up`` does: preload, fork the prefork from itself, then ask it for children."""
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_HERE, str(tmp_path), "run"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report_line, lines_line = done.stdout.strip().splitlines()[-2:]
    report, lines = json.loads(report_line), json.loads(lines_line)
    assert int(report["prefork_parent"]) == report["me"]
    assert report["code"] == 1  # the child ran acme.runtime.serve, which found no source
    assert any("missing.py" in line for line in lines)
    assert any(line.startswith("prefork ready:") for line in lines)
    # the preloaded modules' pages (written before the fork) are shared with the prefork
    assert report["shared_mb"] > 40, report
    assert report["prefork_gone"]
    assert "prefork ready:" in (tmp_path / "prefork.log").read_text()


def test_a_forked_prefork_dies_with_the_process_that_forked_it(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _FORKED_HERE, str(tmp_path), "wait"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert psutil.Process(pid).ppid() == parent.pid
        assert "prefork" in " ".join(psutil.Process(pid).cmdline())  # titled for `acme bench`
    finally:
        parent.kill()
        parent.wait(10)
    _wait(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie")
