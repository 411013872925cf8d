"""Fixtures for the model registry: the shipped model, a DenseNet-121-shaped one, a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme.models import ModelCard, ModelRegistry, build_densenet121, densenet121_card
from acme.storage import InMemoryObjectStore

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "models" / "cxr-synthetic" / "1.0.0"


@pytest.fixture(scope="session")
def shipped() -> tuple[ModelCard, bytes]:
    card = ModelCard.from_json((SHIPPED / "model.json").read_bytes())
    return card, (SHIPPED / "model.onnx").read_bytes()


@pytest.fixture(scope="session")
def densenet() -> tuple[ModelCard, bytes]:
    onnx = build_densenet121(seed=3)
    return densenet121_card(onnx), onnx


@pytest.fixture
def registry() -> ModelRegistry:
    return ModelRegistry(InMemoryObjectStore(("models",)), "models")
