"""Pieces every generated container shares: labels, settings, volumes, security context."""

from __future__ import annotations

from typing import Any

from acme.render._options import Names
from acme.render._yaml import Manifest

__all__ = [
    "ENV_FROM",
    "JWKS_MOUNT",
    "TMP_MOUNT",
    "env_list",
    "jwks_volume",
    "labels",
    "security_context",
    "tmp_volume",
]

ENV_FROM: list[Manifest] = [
    {"configMapRef": {"name": Names.CONFIG}},
    {"configMapRef": {"name": Names.EVENTS}},
    {"secretRef": {"name": Names.SECRETS}},
]
"""Settings, delivery-token settings, then the secrets (a later source wins a clash)."""

JWKS_MOUNT: Manifest = {"name": "events-jwks", "mountPath": Names.JWKS_DIR, "readOnly": True}
TMP_MOUNT: Manifest = {"name": "tmp", "mountPath": "/tmp"}


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": Names.PART_OF,
    }


def env_list(values: dict[str, str]) -> list[Manifest]:
    return [{"name": key, "value": value} for key, value in values.items()]


def jwks_volume() -> Manifest:
    """The keys delivery tokens are verified with; not optional: no keys, no start."""
    return {"name": "events-jwks", "configMap": {"name": Names.EVENTS_JWKS}}


def tmp_volume() -> Manifest:
    return {"name": "tmp", "emptyDir": {}}


def security_context() -> dict[str, Any]:
    """Non-root, read-only root file system, no privilege escalation, no capabilities."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
