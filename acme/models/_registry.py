"""The model registry: the ``models`` bucket, ``<name>/<version>/model.onnx`` + ``model.json``.

A version is immutable: registering the same files again changes nothing, registering other
files under a registered name and version is refused. ``model.onnx`` is written before
``model.json``, so a card in the bucket always has its model beside it; readers check the
model's sha256 against the card on every fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from acme.models._card import CARD_NAME, ONNX_NAME, ModelCard
from acme.models._errors import (
    ChecksumMismatchError,
    ModelCardError,
    ModelConflictError,
    ModelNotFoundError,
)
from acme.models._onnx import sha256_hex, validate_model
from acme.settings import Settings
from acme.storage import ObjectNotFoundError, ObjectStore


@dataclass(frozen=True)
class Registration:
    """The outcome of one registration: ``created`` is False when it was already there."""

    card: ModelCard
    created: bool


@dataclass(frozen=True)
class RegisteredModel:
    """A model fetched from the registry, its bytes checked against its card."""

    card: ModelCard
    onnx: bytes


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions as people do: 1.10.0 after 1.9.0, numbers before words."""
    parts = re.split(r"[.+-]", version)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


class ModelRegistry:
    """Models in ``bucket`` of ``store`` (the settings' ``models`` bucket)."""

    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    @classmethod
    def of(cls, store: ObjectStore, settings: Settings) -> ModelRegistry:
        return cls(store, settings.buckets.models)

    @property
    def bucket(self) -> str:
        return self._bucket

    def cards(self) -> list[ModelCard]:
        """Every registered model's card, by name then version."""
        found = []
        for info in self._store.list(self._bucket):
            parts = info.key.split("/")
            if len(parts) == 3 and parts[2] == CARD_NAME:
                found.append(self.card(parts[0], parts[1]))
        return sorted(found, key=lambda card: (card.name, version_key(card.version)))

    def versions(self, name: str) -> list[str]:
        """The registered versions of ``name``, oldest first."""
        versions = [
            info.key.split("/")[1]
            for info in self._store.list(self._bucket, f"{name}/")
            if info.key.count("/") == 2 and info.key.endswith(f"/{CARD_NAME}")
        ]
        return sorted(versions, key=version_key)

    def resolve(self, name: str, version: str | None = None) -> ModelCard:
        """The card of ``name`` at ``version``, or of its newest version when None."""
        if version is not None:
            return self.card(name, version)
        versions = self.versions(name)
        if not versions:
            raise ModelNotFoundError(f"model {name!r}: not registered in bucket {self._bucket!r}")
        return self.card(name, versions[-1])

    def card(self, name: str, version: str) -> ModelCard:
        key = f"{name}/{version}/{CARD_NAME}"
        try:
            text = self._store.get(self._bucket, key)
        except ObjectNotFoundError:
            raise ModelNotFoundError(
                f"model {name}/{version}: no {CARD_NAME} in bucket {self._bucket!r}"
            ) from None
        card = ModelCard.from_json(text, where=f"s3://{self._bucket}/{key}")
        if (card.name, card.version) != (name, version):
            raise ModelCardError(
                f"s3://{self._bucket}/{key}: the card says {card.ref}, not {name}/{version}"
            )
        return card

    def fetch(self, card: ModelCard) -> RegisteredModel:
        """``card``'s model bytes, checked against its sha256."""
        key = f"{card.name}/{card.version}/{ONNX_NAME}"
        try:
            data = self._store.get(self._bucket, key)
        except ObjectNotFoundError:
            raise ModelNotFoundError(f"model {card.ref}: no {ONNX_NAME} beside its card") from None
        digest = sha256_hex(data)
        if digest != card.sha256:
            raise ChecksumMismatchError(
                f"s3://{self._bucket}/{key}: sha256 is {digest} but its card records "
                f"{card.sha256}; the stored model was altered"
            )
        return RegisteredModel(card=card, onnx=data)

    def register(self, card: ModelCard, onnx: bytes) -> Registration:
        """Validate ``onnx`` against ``card`` and store both; idempotent for the same files."""
        validate_model(card, onnx, where=f"{card.ref}/{ONNX_NAME}")
        try:
            existing = self.card(card.name, card.version)
        except ModelNotFoundError:
            existing = None
        if existing is not None:
            if existing.sha256 != card.sha256:
                raise ModelConflictError(
                    f"model {card.ref} is already registered with sha256 {existing.sha256}; "
                    f"a version never changes: register this model.onnx ({card.sha256}) "
                    "under a new version"
                )
            if existing != card:
                raise ModelConflictError(
                    f"model {card.ref} is already registered with the same model.onnx but a "
                    "different card; register the new card under a new version"
                )
            return Registration(card=existing, created=False)
        prefix = f"{card.name}/{card.version}"
        metadata = {"sha256": card.sha256}
        onnx_key, card_key = f"{prefix}/{ONNX_NAME}", f"{prefix}/{CARD_NAME}"
        self._store.put(
            self._bucket, onnx_key, onnx, content_type="application/onnx", metadata=metadata
        )
        card_json = card.to_json().encode()
        self._store.put(
            self._bucket, card_key, card_json, content_type="application/json", metadata=metadata
        )
        return Registration(card=card, created=True)

    def register_folder(self, folder: Path) -> Registration:
        """Register ``folder``/model.onnx with ``folder``/model.json."""
        card_path, onnx_path = folder / CARD_NAME, folder / ONNX_NAME
        for path in (card_path, onnx_path):
            if not path.is_file():
                raise ModelCardError(
                    f"{path}: no such file (a model folder holds {ONNX_NAME} and {CARD_NAME})"
                )
        card = ModelCard.from_json(card_path.read_bytes(), where=str(card_path))
        return self.register(card, onnx_path.read_bytes())


def bundled_folders(models_dir: Path) -> list[Path]:
    """The ``<name>/<version>/`` folders of the models shipped under ``models_dir``."""
    if not models_dir.is_dir():
        return []
    return sorted(path.parent for path in models_dir.glob(f"*/*/{CARD_NAME}"))


def register_bundled(store: ObjectStore, settings: Settings) -> list[Registration]:
    """Register every model shipped under ``settings.models_dir`` (``acme up``'s bootstrap).

    Idempotent: models already registered with the same files are left as they are.
    """
    registry = ModelRegistry.of(store, settings)
    return [registry.register_folder(folder) for folder in bundled_folders(settings.models_dir)]
