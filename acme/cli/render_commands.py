"""``acme render knative`` and ``acme render delivery-key``: the cluster deployment."""

from __future__ import annotations

from pathlib import Path

import click

from acme.auth._keyfile import ensure_key
from acme.render import ClusterOptions, differences, render_knative, write
from acme.runtime.stackfile import load_stack
from acme.settings import load_settings

_DEFAULTS = ClusterOptions()


@click.group()
def render() -> None:
    """Cluster deployments generated from the stack file (ACME_STACK_FILE)."""


@render.command("knative")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("infra/knative"),
    show_default=True,
    help="Folder of the generated manifests.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every stale file.")
@click.option("--namespace", default=_DEFAULTS.namespace, show_default=True)
@click.option(
    "--platform-image",
    default=_DEFAULTS.platform_image,
    show_default=True,
    help="Image of the router, tick source, bucket-events adapter and bootstrap Job.",
)
def knative(out: Path, check: bool, namespace: str, platform_image: str) -> None:
    """Knative Services, delivery (router or NatsJetStreamBroker), kustomizations.

    Functions whose handler folder has no main.py yet are left out, with a warning.
    """
    stack = load_stack(load_settings().stack_file)
    options = ClusterOptions(namespace=namespace, platform_image=platform_image)
    rendered = render_knative(stack, options)
    for name in rendered.skipped:
        click.echo(f"warning: left out function {name}: no main.py in its folder yet", err=True)
    if check:
        problems = differences(rendered, out)
        for problem in problems:
            click.echo(f"{out}/{problem}", err=True)
        if problems:
            click.echo("run `acme render knative` to bring them up to date", err=True)
            raise SystemExit(1)
        click.echo(f"{out}: {len(rendered.files)} files up to date")
        return
    changed = write(rendered, out)
    click.echo(f"{out}: {len(rendered.files)} files, {len(changed)} changed")
    for path in changed:
        click.echo(f"  {path}")


@render.command("delivery-key")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for events-key.json (private, 0600) and events-jwks.json (public).",
)
def delivery_key(out: Path) -> None:
    """A signing key for the cluster router, and the key set the functions verify with.

    An existing events-key.json is kept (its key set is written again).
    """
    key_path, jwks_path = out / "events-key.json", out / "events-jwks.json"
    key = ensure_key(key_path, jwks_path)
    click.echo(f"{key_path}: the router's signing key (kid {key.kid}); keep it secret")
    click.echo(f"{jwks_path}: the key set every function verifies deliveries with")
