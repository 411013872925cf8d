"""Fixtures for acme.auth: a provider-like token issuer with its JWKS file."""

from __future__ import annotations

from pathlib import Path

import pytest
from token_issuer import Issuer


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer(tmp_path)
