"""``acme token``: a bearer token from the local issuer, for development only."""

from __future__ import annotations

import click
from pydantic_core import PydanticCustomError

from acme.auth import Role, ensure_local_key, mint_token, uses_local_issuer
from acme.runtime.stackfile import parse_duration
from acme.settings import load_settings

__all__ = ["token"]


@click.command()
@click.option("--user", required=True, help="The token's sub: who is calling.")
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    type=click.Choice([role.value for role in Role]),
    help="A role (repeat for several).",
)
@click.option(
    "--ttl", default="1h", show_default=True, help="Lifetime, e.g. 15m, 8h (at most 168h)."
)
def token(user: str, roles: tuple[str, ...], ttl: str) -> None:
    """Print a token for USER with ROLE(s), signed with the local key of acme up.

    For local development only: it refuses when ACME_AUTH_* point at a hospital's provider.
    Use it as: curl -H "Authorization: Bearer $(acme token --user me --role auditor)" ...
    """
    try:
        seconds = parse_duration(ttl)
    except PydanticCustomError as exc:
        raise click.BadParameter(str(exc), param_hint="--ttl") from None
    settings = load_settings()
    if uses_local_issuer(settings):
        ensure_local_key(settings)
    try:
        click.echo(mint_token(settings, user=user, roles=roles, ttl_seconds=seconds))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
