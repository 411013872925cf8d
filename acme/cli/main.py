"""``acme``: the command line of Acme Imaging Functions (docs/architecture.md §10)."""

from __future__ import annotations

import sys

import click

from acme.cli.audit_commands import audit
from acme.cli.auth_commands import token
from acme.cli.bench_commands import bench
from acme.cli.bootstrap_commands import bootstrap
from acme.cli.data_commands import samples, send
from acme.cli.demo_commands import demo
from acme.cli.dlq_commands import dlq
from acme.cli.model_commands import models
from acme.cli.pacs_commands import pacs
from acme.cli.render_commands import render
from acme.cli.stack_commands import status, up
from acme.cli.study_commands import wait
from acme.errors import AcmeError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="acme-imaging")
def cli() -> None:
    """Acme Imaging Functions: medical-imaging AI as serverless functions.

    Every setting comes from ACME_* environment variables (see README.md).
    """


cli.add_command(up)
cli.add_command(status)
cli.add_command(samples)
cli.add_command(send)
cli.add_command(demo)
cli.add_command(dlq)
cli.add_command(models)
cli.add_command(bench)
cli.add_command(wait)
cli.add_command(token)
cli.add_command(audit)
cli.add_command(pacs)
cli.add_command(render)
cli.add_command(bootstrap)


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
