"""One function, one process: functions-framework's app served by waitress.

``acme-function --source main.py --target handler --signature-type cloudevent`` (the options
and environment variables of ``functions-framework``: FUNCTION_TARGET, FUNCTION_SOURCE,
FUNCTION_SIGNATURE_TYPE, HOST, PORT, and THREADS for the requests served at once).

functions-framework builds the WSGI app (it imports ``main.py`` and wraps the target as an
HTTP or CloudEvent function) and serves it through gunicorn: an arbiter process plus one worker
forked from it. Here the same app is served by waitress, threaded, in the process that built
it (docs/decisions/0124-one-process-per-function.md): a function is already supervised by
``acme up`` locally and by the kubelet in the cluster, so the arbiter restarted nothing that
was not restarted anyway, and it cost a second process whose copy-on-write pages soon stopped
being shared (dicom-ingest idle: 173 MB of PSS as gunicorn's pair, 118 MB as one process).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

import click
import waitress
from functions_framework import create_app
from functions_framework.exceptions import FunctionsFrameworkException

from acme.log import hold_root_logging

__all__ = ["main", "threads_from_environment"]


def threads_from_environment(environ: Mapping[str, str]) -> int:
    """THREADS, as functions-framework reads it: by default four per CPU."""
    value = environ.get("THREADS")
    if value is None:
        return (os.cpu_count() or 1) * 4
    try:
        threads = int(value)
    except ValueError:
        raise click.BadParameter(f"THREADS: expected a whole number, got {value!r}") from None
    if threads < 1:
        raise click.BadParameter(f"THREADS: expected at least 1, got {threads}")
    return threads


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--target", envvar="FUNCTION_TARGET", required=True)
@click.option("--source", envvar="FUNCTION_SOURCE", type=click.Path(dir_okay=False))
@click.option(
    "--signature-type",
    envvar="FUNCTION_SIGNATURE_TYPE",
    type=click.Choice(["http", "cloudevent"]),
    default="http",
    show_default=True,
)
@click.option("--host", envvar="HOST", default="0.0.0.0", show_default=True)
@click.option("--port", envvar="PORT", type=click.IntRange(0, 65535), default=8080)
def main(target: str, source: str | None, signature_type: str, host: str, port: int) -> None:
    """Serve the function TARGET of SOURCE on HOST:PORT until interrupted."""
    threads = threads_from_environment(os.environ)
    hold_root_logging()  # the function configures its logging at its first request
    build: Any = create_app  # functions-framework has no type hints
    try:
        app = build(target, source, signature_type)
    except FunctionsFrameworkException as exc:  # no such file or target: one line, exit 1
        raise click.ClickException(str(exc)) from exc
    # Stopped by SIGINT (waitress ends its loop on KeyboardInterrupt). A process started from a
    # shell's background job inherits SIGINT ignored, and Python then leaves it ignored: the
    # function would wait for its supervisor's kill. Interrupted however it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # No proxy header is trusted or applied here (REMOTE_ADDR stays the peer), and none is
    # removed either: the function judges X-Forwarded-For itself, against the networks it
    # trusts (acme.clientaddr), as it did under gunicorn. ident: no server name and version
    # in the Server header. Otherwise waitress's defaults (bodies over 1 MB spooled to disk).
    waitress.serve(
        app, host=host, port=port, threads=threads, ident="", trusted_proxy=None,
        clear_untrusted_proxy_headers=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
