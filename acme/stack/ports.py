"""Loopback port handling for the embedded servers."""

from __future__ import annotations

import socket
from contextlib import closing

import psutil

from acme.errors import ConfigError


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` right now (the kernel picks it)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct free ports, all held open until chosen so none repeats."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def claim_port(host: str, port: int, setting: str) -> int:
    """``port`` if it is free on ``host`` (a free one when ``port`` is 0).

    Raises :class:`ConfigError` naming ``setting`` when the port is taken.
    """
    if port == 0:
        return free_port(host)
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                setting, f"port {port} on {host} is already in use ({exc.strerror})"
            ) from None
    return port


def held_ports(ports: set[int], server_pid: int | None) -> set[int]:
    """Those of ``ports`` another process than ``server_pid`` holds: a socket listening on
    one, or one a live process owns. The connections a killed server leaves behind have no
    owner and, like TIME_WAIT, do not stop it from binding again; a socket whose owner cannot
    be seen (another user's, without root) is not counted either. A server that has not bound
    a port it was given while another process holds it will not get it."""
    if not ports:
        return set()
    return {
        s.laddr.port
        for s in psutil.net_connections(kind="tcp")
        if s.laddr
        and s.laddr.port in ports
        and s.pid != server_pid
        and (
            s.status == psutil.CONN_LISTEN
            or (s.pid is not None and s.status != psutil.CONN_TIME_WAIT)
        )
    }
