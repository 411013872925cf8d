"""A server started as a child process: logs to a file, dies with its parent, stops cleanly."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import psutil

_PR_SET_PDEATHSIG = 1


def _die_with_parent(stop_signal: signal.Signals) -> None:  # pragma: no cover - in the child
    """Ask Linux to send this child its stop signal when the thread that started it dies.

    This is what guarantees no orphan servers even when ``acme up`` is killed with SIGKILL.
    The signal is the program's own clean and prompt shutdown: PostgreSQL's SIGTERM (smart
    shutdown) would wait for every client still connected, for ever.

    The stop signal is set back to its default first: started from a shell's background job
    (``nohup acme up &``, a CI runner), ``acme up`` ignores SIGINT, an ignored signal stays
    ignored across ``exec``, and a Python child would not even install its KeyboardInterrupt
    handler: stopped while it still imports, it would run on until killed.
    """
    signal.signal(stop_signal, signal.SIG_DFL)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, stop_signal)


class ManagedProcess:
    """One child process of the stack.

    ``stop_signal`` is what asks the program for a clean shutdown (PostgreSQL's fast shutdown
    is SIGINT); after ``stop_timeout`` seconds the whole process tree is killed. With
    ``on_output``, each line the program writes is also passed to that callback (from a reader
    thread), besides being appended to the log file.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 15.0,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.user = user
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.on_output = on_output
        self._popen: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        """Start the program. Call it from a long-lived thread: the child dies with that thread."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log if self.on_output is None else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                user=self.user,
                group=_primary_group(self.user),
                extra_groups=[] if self.user is not None else None,
                preexec_fn=functools.partial(_die_with_parent, self.stop_signal),
                # its own session: a Ctrl-C in the terminal reaches only ``acme up``, which
                # then stops everything in order (functions before the servers they use)
                start_new_session=True,
            )
        if self.on_output is not None:
            assert self._popen.stdout is not None
            self._pump = threading.Thread(
                target=pump_lines,
                args=(self._popen.stdout, self.log_path, self.on_output),
                name=f"{self.name} output",
                daemon=True,
            )
            self._pump.start()

    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self._popen.poll() if self._popen is not None else None

    def listening_ports(self) -> set[int]:
        """The TCP ports the process listens on now (none once it has ended)."""
        if self._popen is None or self._popen.poll() is not None:
            return set()
        try:
            sockets = psutil.Process(self._popen.pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            return set()
        return {s.laddr.port for s in sockets if s.status == psutil.CONN_LISTEN}

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def request_stop(self) -> None:
        """Ask the program to stop (its stop signal) without waiting for it."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(self.stop_signal)

    def stop(self) -> None:
        """Stop the process and every process it started; returns when all are gone."""
        if self._popen is None or self._popen.poll() is not None:
            return
        tree = process_tree(self._popen.pid)
        self._popen.send_signal(self.stop_signal)
        try:
            self._popen.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait(5)
        end_tree(tree)
        if self._pump is not None:
            self._pump.join(5)


def process_tree(pid: int) -> list[psutil.Process]:
    """``pid`` and every process below it (empty when it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(True)]
    except psutil.NoSuchProcess:
        return []


def end_tree(tree: list[psutil.Process]) -> None:
    """Give what is left of ``tree`` 5 s to exit, then kill it."""
    _, alive = psutil.wait_procs(tree, timeout=5)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=5)


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a process's log file ("" when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def pump_lines(stream: IO[bytes], log_path: Path, on_output: Callable[[str], None]) -> None:
    """Copy the child's output to its log file and hand each line to ``on_output``."""
    with stream, log_path.open("ab") as log:
        for raw in stream:
            log.write(raw)
            log.flush()
            on_output(raw.decode(errors="replace").rstrip("\r\n"))


def _primary_group(user: str | None) -> int | None:
    if user is None:
        return None
    import pwd

    return pwd.getpwnam(user).pw_gid


def run_as(user: str | None) -> dict[str, object]:
    """``subprocess`` keyword arguments that run a program as ``user`` with only its own group."""
    if user is None:
        return {}
    return {"user": user, "group": _primary_group(user), "extra_groups": []}


def owned_by(user: str | None, path: Path) -> None:
    """Give ``path`` (recursively) to ``user`` so a server running as that user can write it."""
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
