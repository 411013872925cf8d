"""Import a function's main.py as the platform loads it (by path, not as a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load_main(folder: str, *, as_name: str | None = None) -> ModuleType:
    """``functions/<folder>/main.py`` as a fresh module."""
    path = FUNCTIONS / folder / "main.py"
    spec = importlib.util.spec_from_file_location(as_name or f"{folder}_main", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
