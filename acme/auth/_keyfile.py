"""Private signing keys kept as JWK files, and the JWKS files that publish their public half.

Shared by the local user-token issuer (:mod:`acme.auth._local`) and the event-delivery key
(:mod:`acme.auth._delivery`): each is one ES256 key, created once (mode 0600, atomically, so
processes starting together keep the same key), whose public half is (re)written to a JWKS file
verifiers read.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from acme.errors import AcmeError

ALGORITHM = "ES256"


class LocalKeyError(AcmeError):
    """A local signing key is missing or unreadable; the message names the file."""


def ensure_key(key_path: Path, jwks_path: Path) -> ECKey:
    """The private key at ``key_path``, created if absent; its public half written to
    ``jwks_path``."""
    if not key_path.exists():
        key = ECKey.generate_key("P-256", parameters={"alg": ALGORITHM, "use": "sig"})
        key.ensure_kid()
        create_once(key_path, json.dumps(key.as_dict(private=True)).encode())
    key = load_private_key(key_path, setting="ACME_AUTH_SIGNING_KEY")
    document = {"keys": [key.as_dict(private=False)]}
    replace_file(jwks_path, json.dumps(document, indent=2).encode(), mode=0o644)
    return key


def shared_secret(path: Path) -> str:
    """The random secret in ``path`` (mode 0600), created once if absent."""
    if not path.exists():
        create_once(path, secrets.token_urlsafe(32).encode())
    return path.read_text(encoding="utf-8").strip()


def load_private_key(path: Path, *, setting: str) -> ECKey:
    """The private EC key in ``path``; :class:`LocalKeyError` naming the file and ``setting``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = ECKey.import_key(data)
    except FileNotFoundError:
        raise LocalKeyError(
            f"{path}: no local signing key (acme up creates it; {setting})"
        ) from None
    except (OSError, ValueError, JoseError) as exc:
        raise LocalKeyError(f"{path}: not a private EC JSON Web Key ({exc})") from None
    if not key.is_private:
        raise LocalKeyError(f"{path}: holds a public key; expected the private signing key")
    key.ensure_kid()
    return key


def create_once(path: Path, content: bytes) -> None:
    """Write ``path`` (mode 0600) unless it exists: complete or absent, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # another process won: keep its key
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def replace_file(path: Path, content: bytes, *, mode: int) -> None:
    """Replace ``path`` atomically with ``content``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".jwks-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
