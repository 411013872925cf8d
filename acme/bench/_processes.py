"""The processes of a running platform: every one below a root, and what each one is (a
server, a function, a platform service, ``acme up``), read from ``/proc``."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["Identity", "cpu_seconds_of", "identify", "tree"]

Kind = Literal["server", "function", "service", "platform", "other"]

_SERVERS: Final = {
    "nats-server": "NATS",
    "postgres": "PostgreSQL",
    "weed": "SeaweedFS",
    "redis-server": "Redis",
}
_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Identity:
    """What one process is: its name in a report and its kind."""

    name: str
    kind: Kind


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it exited meanwhile
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def identify(pid: int) -> Identity | None:
    """What process ``pid`` is; None when it is gone.

    A server by its program (postgres and redis retitle their processes), a function by its
    ``K_SERVICE`` (a function is one process) or, forked by the prefork, by its title, a
    platform service by its ``acme.runtime`` module, ``acme up`` by its command.
    """
    proc = Path(f"/proc/{pid}")
    try:
        argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0")]
        environ = (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    program = Path(argv[0]).name
    env = dict(item.decode(errors="replace").partition("=")[::2] for item in environ if item)
    command = " ".join(argv)
    if server := next((v for k, v in _SERVERS.items() if program.startswith(k)), None):
        return Identity(server, "server")
    if "K_SERVICE" in env:
        return Identity(f"function {env['K_SERVICE']}", "function")
    if command.startswith("acme-function "):  # forked by the prefork, which titles it
        return Identity(f"function {command.split()[1].rstrip(':')}", "function")
    if "acme.runtime." in command:
        return Identity(command.split("acme.runtime.", 1)[1].split()[0], "service")
    if "acme.cli.main up" in command or (
        len(argv) > 2 and Path(argv[1]).name == "acme" and argv[2] == "up"
    ):
        return Identity("acme up", "platform")
    return Identity(program, "other")


def cpu_seconds_of(pid: int) -> float | None:
    """User plus system CPU seconds ``pid`` has spent; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS
