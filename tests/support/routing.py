"""dicom-ingest's bundled routing rules with short stable ages, for tests on a running platform."""

from __future__ import annotations

from pathlib import Path

import yaml

BUNDLED = Path(__file__).resolve().parents[2] / "functions" / "dicom-ingest" / "routing.yml"


def fast_routing(folder: Path, seconds: float = 3.0, ages: dict[str, float] | None = None) -> Path:
    """A routing file in ``folder``: the bundled rules, every stable age ``seconds`` but those
    of the modalities ``ages`` names."""
    rules = yaml.safe_load(BUNDLED.read_text())
    rules["stable_age_seconds"] = dict.fromkeys(rules["stable_age_seconds"], seconds) | (ages or {})
    path = folder / "routing-fast.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path
