"""A test token issuer: real EC and RSA keys, a JWKS file, tokens with any header or claims."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

from acme.auth import JwksFile, JwtPolicy

ISSUER = "https://keycloak.hospital.example/realms/radiology"
AUDIENCE = "acme-imaging"


def b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


class Issuer:
    """Signs tokens like a hospital's provider; ``jwks`` is the file its keys are published in."""

    def __init__(self, folder: Path) -> None:
        self.ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
        self.rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
        self.jwks = folder / "jwks.json"
        self.publish(self.ec, self.rsa)

    def publish(self, *keys: Key) -> None:
        document = {"keys": [key.as_dict(private=False) for key in keys]}
        self.jwks.write_text(json.dumps(document))

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": [AUDIENCE, "account"],
            "sub": "dr.house",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "roles": ["radiologist"],
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: Key | None = None, *, alg: str = "ES256", **changes: Any) -> str:
        signer = key or (self.ec if alg == "ES256" else self.rsa)
        header = {"alg": alg, "kid": str(signer.kid)}
        return jwt.encode(header, self.claims(**changes), signer, algorithms=[alg])

    def unsigned(self, header: dict[str, Any], **changes: Any) -> str:
        """header.payload. with no signature (``alg: none`` attacks)."""
        head = b64(json.dumps(header).encode())
        return f"{head}.{b64(json.dumps(self.claims(**changes)).encode())}."

    def policy(self, **options: Any) -> JwtPolicy:
        return JwtPolicy(JwksFile(self.jwks), issuer=ISSUER, audience=AUDIENCE, **options)
