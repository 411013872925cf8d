"""The runtime's side of the prefork (:mod:`acme.runtime.prefork`): start it, fork through it.

:class:`Prefork` starts the prefork process and hands out :class:`ForkedProcess` objects,
which the function supervisors use exactly as a :class:`~acme.stack.process.ManagedProcess`
(start, exit code, stop). A launch whose interpreter settings differ from the prefork's (its
``PYTHON*`` variables, read when the interpreter starts) is not forked: the
supervisor then execs it as before, and so it does when the prefork is not running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import psutil

from acme.runtime.prefork import THREAD_COUNTS, fork_here
from acme.stack.process import (
    ManagedProcess,
    end_tree,
    is_alive,
    log_tail,
    process_tree,
    pump_lines,
)

__all__ = ["ForkedProcess", "Prefork", "PreforkUnavailable"]

_UNKNOWN_EXIT: Final = -1
_CONNECT_SECONDS: Final = 30.0
_EMULATED: Final = frozenset({"PYTHONUNBUFFERED"})
"""Interpreter variables a child does not need the prefork to have been started with: its
output is line-buffered (:func:`acme.runtime.prefork._detach`), as a log needs."""


class PreforkUnavailable(OSError):
    """The prefork is not running, or refused the request."""


class ForkedProcess:
    """One child of the prefork, with :class:`ManagedProcess`'s interface."""

    def __init__(
        self,
        name: str,
        socket_name: str,
        module: str,
        args: Sequence[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str],
        stop_signal: signal.Signals,
        stop_timeout: float,
        on_output: Callable[[str], None],
        running: Callable[[], bool],
    ) -> None:
        self.name = name
        self._running = running
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self._socket_name = socket_name
        title = [_title_kind(module), f"{name}:", sys.executable, "-m", module, *args]
        self._request = {
            "module": module, "args": list(args), "env": dict(env), "cwd": str(cwd),
            "title": " ".join(title),
        }  # fmt: skip
        self._on_output = on_output
        self._conn: socket.socket | None = None
        self._pid: int | None = None
        self._code: int | None = None
        self._buffer = b""
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._pid

    def start(self) -> None:
        """Ask the prefork for the child; :class:`PreforkUnavailable` if it cannot fork one.

        Blocks while the prefork is still importing: call it off the event loop.
        """
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        read, write = os.pipe()
        try:
            self._connect(conn)
            socket.send_fds(conn, [json.dumps(self._request).encode() + b"\n"], [write])
            os.close(write)
            write = -1
            answer = self._next_message(conn)
        except OSError as exc:
            conn.close()
            os.close(read)
            raise PreforkUnavailable(f"prefork: {exc}") from exc
        finally:
            if write != -1:
                os.close(write)
        if answer is None or "pid" not in answer:
            conn.close()
            os.close(read)
            reason = answer.get("error") if answer else "closed the connection"
            raise PreforkUnavailable(f"prefork refused {self.name}: {reason}")
        self._conn = conn
        self._pid = int(answer["pid"])
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._pump = threading.Thread(
            target=pump_lines,
            args=(os.fdopen(read, "rb"), self.log_path, self._on_output),
            name=f"{self.name} output",
            daemon=True,
        )
        self._pump.start()

    def exit_code(self) -> int | None:
        """The exit code once the prefork has reported it (-1: the prefork ended first)."""
        if self._code is not None or self._conn is None:
            return self._code
        self._conn.setblocking(False)
        try:
            message = self._next_message(self._conn)
        except BlockingIOError:
            return None
        except OSError:
            message = None
        if message is None and self._pid is not None and is_alive(self._pid):
            return None  # the prefork is gone; the child follows it (its death signal)
        self._code = int(message["code"]) if message and "code" in message else _UNKNOWN_EXIT
        self._conn.close()
        return self._code

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def request_stop(self) -> None:
        """Send the stop signal without waiting."""
        if self._pid is not None and self.exit_code() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, self.stop_signal)

    def stop(self) -> None:
        """Stop the child and everything it started; returns when all are gone."""
        if self._pid is None or self.exit_code() is not None:
            return
        tree = process_tree(self._pid)
        self.request_stop()
        if not self._wait(self.stop_timeout):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pid, signal.SIGKILL)
            self._wait(5.0)
        end_tree(tree)
        if self._pump is not None:
            self._pump.join(5)

    def _connect(self, conn: socket.socket) -> None:
        """Connect, waiting while the prefork is running but not yet listening."""
        deadline = time.monotonic() + _CONNECT_SECONDS
        while True:
            try:
                conn.connect("\0" + self._socket_name)
                return
            except ConnectionRefusedError:
                if not self._running() or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.exit_code() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _next_message(self, conn: socket.socket) -> dict[str, int | str] | None:
        """The next JSON line from the prefork; None once it closed the connection."""
        while b"\n" not in self._buffer:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, int | str] = json.loads(line)
        return message


def _title_kind(module: str) -> str:
    """How a child's command line (/proc/PID/cmdline) begins: ``acme-function NAME: ...`` for
    a function, ``acme-service NAME: ...`` for a platform service."""
    return "acme-function" if module == "acme.runtime.serve" else "acme-service"


class Prefork:
    """The prefork process of one runtime, and the factory of its children.

    Either exec'd (``Prefork(...)``: a process of its own, which imports what it preloads),
    or forked from this process (:meth:`Prefork.forked`), which then shares those pages too.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.env = dict(env)
        self.socket_name = _socket_name()
        self._process: ManagedProcess | _ForkedPrefork = ManagedProcess(
            "prefork",
            [sys.executable, "-m", "acme.runtime.prefork", "--socket", self.socket_name],
            log_path=log_path, cwd=cwd, env=self.env, stop_timeout=5.0, on_output=on_output,
        )  # fmt: skip

    @classmethod
    def forked(cls, *, log_path: Path, on_output: Callable[[str], None]) -> Prefork:
        """The prefork forked from this process now, after preloading here: call it before
        this process starts a thread. Its environment is this process's."""
        prefork = cls.__new__(cls)
        prefork.env = dict(os.environ)
        prefork.socket_name = _socket_name()
        pid, output = fork_here(prefork.socket_name)
        prefork._process = _ForkedPrefork(pid, output, log_path=log_path, on_output=on_output)
        return prefork

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        """Start the prefork (from a long-lived thread: it dies with that thread); a forked
        one runs already, and its output is copied to its log from now on."""
        self._process.start()

    def stop(self) -> None:
        self._process.stop()

    def fits(self, env: Mapping[str, str]) -> bool:
        """Whether a child with ``env`` would behave as an exec'd interpreter with it.

        The interpreter's own variables are read at its start. A thread count the prefork's
        libraries read at import is set again in the child (:data:`THREAD_COUNTS`), but one
        the prefork has and the child does not cannot be undone.
        """
        keys = {k for k in (*env, *self.env) if k.startswith("PYTHON") and k not in _EMULATED}
        keys |= {k for k in THREAD_COUNTS if k in self.env}
        return self._process.exit_code() is None and all(
            env.get(k) == self.env.get(k) for k in keys
        )

    def process(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str],
        stop_signal: signal.Signals,
        stop_timeout: float,
        on_output: Callable[[str], None],
    ) -> ForkedProcess | None:
        """A child for ``argv`` (``python -m MODULE ...``), or None where it must be exec'd."""
        if list(argv[:2]) != [sys.executable, "-m"] or not self.fits(env):
            return None
        return ForkedProcess(
            name, self.socket_name, argv[2], argv[3:], log_path=log_path, cwd=cwd, env=env,
            stop_signal=stop_signal, stop_timeout=stop_timeout, on_output=on_output,
            running=lambda: self._process.exit_code() is None,
        )  # fmt: skip


def _socket_name() -> str:
    return f"acme-prefork-{os.getpid()}-{secrets.token_hex(8)}"


class _ForkedPrefork:
    """The prefork as a child forked from this process: its output, exit code and stop."""

    def __init__(
        self, pid: int, output: int, *, log_path: Path, on_output: Callable[[str], None]
    ) -> None:
        self.pid = pid
        self._output = output
        self._log_path = log_path
        self._on_output = on_output
        self._code: int | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        if self._pump is not None:
            return
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._pump = threading.Thread(
            target=pump_lines,
            args=(os.fdopen(self._output, "rb"), self._log_path, self._on_output),
            name="prefork output",
            daemon=True,
        )
        self._pump.start()

    def exit_code(self) -> int | None:
        if self._code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; its children die with it (their death signal)."""
        if self.exit_code() is None:  # not reaped yet, so its pid is still its own
            process = psutil.Process(self.pid)
            process.terminate()
            try:
                self._code = process.wait(5)
            except psutil.TimeoutExpired:
                process.kill()
                self._code = process.wait(5)
        if self._pump is not None:
            self._pump.join(5)
        elif self._output != -1:  # never copied: nobody reads it
            os.close(self._output)
            self._output = -1
