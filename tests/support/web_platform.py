"""The running platform as the web app's browser tests see it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from acme.auth import mint_token
from acme.samples import SampleManifest
from acme.settings import Settings


@dataclass(frozen=True)
class Platform:
    settings: Settings
    url: str
    manifest: SampleManifest

    def token(self, user: str, role: str) -> str:
        return mint_token(self.settings, user=user, roles=[role])

    def get(self, path: str, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=60)
