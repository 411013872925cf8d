"""``acme``: the command line of Acme Imaging Functions (docs/architecture.md §10)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

import click

from acme.errors import AcmeError

COMMANDS: Mapping[str, str] = {
    "up": "acme.cli.stack_commands:up",
    "status": "acme.cli.stack_commands:status",
    "samples": "acme.cli.data_commands:samples",
    "send": "acme.cli.data_commands:send",
    "demo": "acme.cli.demo_commands:demo",
    "dlq": "acme.cli.dlq_commands:dlq",
    "models": "acme.cli.model_commands:models",
    "bench": "acme.cli.bench_commands:bench",
    "wait": "acme.cli.study_commands:wait",
    "token": "acme.cli.auth_commands:token",
    "audit": "acme.cli.audit_commands:audit",
    "pacs": "acme.cli.pacs_commands:pacs",
    "render": "acme.cli.render_commands:render",
    "bootstrap": "acme.cli.bootstrap_commands:bootstrap",
}
"""Each subcommand -> ``module:attribute`` of its click command, imported when it is run.

``acme up`` then stays a process of the runtime alone (it runs as long as the platform, and
its memory counts in the idle footprint), not of every command's imports (pydicom and
onnxruntime for the benchmarks, the FHIR classes for the audit export...).
"""


class LazyGroup(click.Group):
    """A click group whose subcommands' modules are imported on first use (click's own
    "lazily loading subcommands" pattern)."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        module, attribute = self._lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self._lazy[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="acme-imaging")
def cli() -> None:
    """Acme Imaging Functions: medical-imaging AI as serverless functions.

    Every setting comes from ACME_* environment variables (see README.md).
    """


def main() -> None:
    """Console-script entry point: one clear line on stderr for any project error."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AcmeError as exc:
        click.echo(f"acme: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
