"""The prefork: one pre-imported Python process that forks the platform's Python processes.

``python -m acme.runtime.prefork --socket NAME`` listens on the abstract Unix socket NAME,
imports what every function imports (functions-framework, waitress, pydicom, numpy, boto3,
psycopg, nats, the shared library), freezes those objects out of the garbage collector, and
then, for each connection from its own user, forks one child that runs ``python -m MODULE
ARGS`` as an exec'd interpreter would, with the environment, folder and output it was sent
(docs/decisions/0126-prefork.md). The children share the imported pages copy-on-write: six
functions took 674 MB of PSS as six interpreters and 314 MB forked from one, and a child is
serving a few hundred milliseconds after it is asked for.

The protocol, one connection per child (:mod:`acme.runtime.forked` is the other end): the
client sends one JSON request (one line), with the write end of the child's output pipe attached
(``SCM_RIGHTS``); the prefork answers ``{"pid": N}`` (or ``{"error": "..."}``), and once the
child has exited, ``{"code": C}``, and closes the connection.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import traceback
from dataclasses import dataclass
from typing import Final, NoReturn

import click
import setproctitle
from pydantic import BaseModel, ConfigDict, ValidationError
from threadpoolctl import threadpool_limits

__all__ = [
    "PREFORK_MODULES", "PRELOAD", "THREAD_COUNTS", "SpawnRequest", "fork_here", "listen", "main",
    "preload",
]  # fmt: skip

PRELOAD: Final = (
    "numpy", "pydicom", "boto3", "psycopg", "psycopg_pool", "nats", "redis", "flask",
    "functions_framework", "waitress", "cloudevents.http", "pydantic", "structlog",
    "joserfc", "prometheus_client", "acme.function", "acme.http", "acme.events",
    "acme.outbox", "acme.db", "acme.storage", "acme.bus", "acme.imaging",
    "acme.runtime.serve", "acme.runtime.bucket_events", "acme.runtime.tick",
    # the report's FHIR, SR and PDF; the audit's FHIR; the DICOM receiver
    "highdicom", "fpdf", "jinja2", "acme.audit", "acme.dicomnet.receiver",
    "fhir.resources.R4B.bundle", "fhir.resources.R4B.diagnosticreport",
    "fhir.resources.R4B.imagingstudy", "fhir.resources.R4B.observation",
)  # fmt: skip
"""Imported before the first fork. Not onnxruntime: only the inference functions need it."""

PREFORK_MODULES: Final = ("acme.runtime.", "acme.coldstart")
"""The only modules a child may run: the platform's entry points and the cold-start probe."""

THREAD_COUNTS: Final = {
    "OPENBLAS_NUM_THREADS": "blas", "MKL_NUM_THREADS": "blas", "OMP_NUM_THREADS": None,
}  # fmt: skip
"""Thread counts numpy's BLAS (and an OpenMP runtime) read when loaded, in the prefork: a
child whose environment sets one gets it applied through threadpoolctl (None: every library)."""

_PR_SET_PDEATHSIG: Final = 1
_MAX_REQUEST: Final = 1 << 20


class SpawnRequest(BaseModel):
    """What to run in a new child: ``python -m module *args`` in ``cwd`` with ``env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    module: str
    args: list[str]
    env: dict[str, str]
    cwd: str
    title: str


@dataclass
class _Child:
    pid: int
    conn: socket.socket
    pidfd: int


def main_loop(listener: socket.socket) -> NoReturn:
    """Fork a child for each request; report each child's exit to the connection that asked."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, _Child] = {}
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                child = _spawn(conn, listener, selector, children)
                if child is not None:
                    children[child.pidfd] = child
                    selector.register(child.pidfd, selectors.EVENT_READ)
                continue
            assert isinstance(key.fd, int)
            child = children.pop(key.fd)
            selector.unregister(key.fd)
            _, status = os.waitpid(child.pid, 0)
            with contextlib.suppress(OSError):
                child.conn.sendall(_line({"code": os.waitstatus_to_exitcode(status)}))
            child.conn.close()
            os.close(child.pidfd)


def _spawn(
    conn: socket.socket,
    listener: socket.socket,
    selector: selectors.BaseSelector,
    children: dict[int, _Child],
) -> _Child | None:
    """Read one request from ``conn`` and fork its child; None (``conn`` closed) if refused."""
    output: int | None = None
    try:
        conn.settimeout(5.0)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            raise PermissionError(f"peer uid {uid} is not this prefork's user")
        data, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 1)
        output = fds[0] if fds else None
        while not data.endswith(b"\n"):  # one JSON line, however the stream split it
            if not (more := conn.recv(_MAX_REQUEST)) or len(data) > _MAX_REQUEST:
                raise ValueError("incomplete or oversized request")
            data += more
        request = SpawnRequest.model_validate_json(data)
        if not request.module.startswith(PREFORK_MODULES):
            raise PermissionError(f"module {request.module!r} is not a platform entry point")
        if output is None:
            raise ValueError("no output descriptor attached")
    except (OSError, ValueError, ValidationError) as exc:
        _refuse(conn, exc)
        if output is not None:
            os.close(output)
        return None
    prefork = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:  # no memory or process slots: refused, the prefork carries on
        _refuse(conn, exc)
        os.close(output)
        return None
    if pid == 0:
        for sock in (listener, conn, *(c.conn for c in children.values())):
            sock.close()
        for child in children.values():
            os.close(child.pidfd)
        selector.close()
        _run_child(request, output, parent=prefork)
    os.close(output)
    conn.settimeout(None)
    try:
        conn.sendall(_line({"pid": pid}))
    except OSError:  # the client is gone: nobody would supervise the child
        os.kill(pid, signal.SIGKILL)
    return _Child(pid=pid, conn=conn, pidfd=os.pidfd_open(pid))


def _refuse(conn: socket.socket, exc: Exception) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(_line({"error": str(exc)}))
    conn.close()


def _run_child(request: SpawnRequest, output: int, *, parent: int) -> NoReturn:
    """In the child (the prefork's descriptors closed): become ``python -m module args``, and
    never return to the prefork's loop."""
    code: int = 1
    try:
        _detach(output, parent=parent, title=request.title)
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        _limit_threads(request.env)
        sys.path[0] = request.cwd  # what ``python -m`` puts first
        sys.argv = [request.module, *request.args]
        sys.modules.pop(request.module, None)  # run afresh as __main__, as ``python -m`` does
        runpy.run_module(request.module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc)
    except BaseException:  # noqa: BLE001 - the child's crash, printed as an interpreter would
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _detach(output: int, *, parent: int, title: str) -> None:
    """In a new child of ``parent``: its own session, death with ``parent``, no input, output
    (line-buffered) to ``output``, and ``title`` as its command line."""
    os.setsid()  # its own session, as ManagedProcess gives an exec'd child
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    # dies with its parent: killed, since nobody would reap it or stop it cleanly, and a
    # stop signal can be ignored (SIGINT is, in a shell's background job)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the line above
        raise SystemExit(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.close(devnull)
    setproctitle.setproctitle(title)  # before the environment (its memory) changes
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]


def _limit_threads(env: dict[str, str]) -> None:
    """Apply the thread counts of ``env`` to the libraries already loaded, most general first
    (``OMP_NUM_THREADS``), so that a library's own variable wins as it would at its load."""
    for variable in sorted(THREAD_COUNTS, key=lambda v: THREAD_COUNTS[v] is not None):
        if (value := env.get(variable)) is not None and value.isdigit() and int(value) > 0:
            threadpool_limits(limits=int(value), user_api=THREAD_COUNTS[variable])


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _line(message: dict[str, object]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def listen(name: str) -> socket.socket:
    """The prefork's socket: abstract Unix socket ``name``, listening."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    listener.listen(64)  # clients may connect while the imports run
    return listener


def preload() -> None:
    """Import :data:`PRELOAD` and freeze it out of the garbage collector, which then no longer
    touches (so no longer copies) the imported objects in this process or its forks."""
    for module in PRELOAD:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()


def fork_here(name: str) -> tuple[int, int]:
    """Preload in this process, then fork the prefork from it, listening on ``name``: the
    process shares the preloaded pages with the prefork and its children. Call it before this
    process starts a thread. Returns the prefork's pid and the read end of its output."""
    listener = listen(name)
    preload()
    read, write = os.pipe()
    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or the child would write this process's pending output again
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            title = f"acme-service prefork: {sys.executable} -m {__name__} --socket {name}"
            _detach(write, parent=parent, title=title)
            _serve(listener)
        except SystemExit as exc:
            code = _exit_status(exc)
        except BaseException:  # noqa: BLE001 - the prefork's crash, printed for its log
            traceback.print_exc()
        finally:
            os._exit(code)
    listener.close()
    os.close(write)
    return pid, read


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--socket", "name", required=True, help="Abstract Unix socket name to listen on.")
def main(name: str) -> None:
    """Pre-import the platform's modules, then fork a child per request on socket NAME."""
    listener = listen(name)
    preload()
    _serve(listener)


def _serve(listener: socket.socket) -> NoReturn:
    print(f"prefork ready: {len(sys.modules)} modules imported", flush=True)
    main_loop(listener)


if __name__ == "__main__":
    main()
