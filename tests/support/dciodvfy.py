"""dciodvfy (dicom3tools, a dev dependency): the errors it finds in a DICOM file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def dciodvfy_errors(path: Path, iod: str | None = None) -> list[str]:
    """dciodvfy's error lines about ``path`` (its warnings are left out); with ``iod``, it must
    also have recognised the file as that IOD (e.g. ``ComprehensiveSR``, ``SC``)."""
    binary = shutil.which("dciodvfy") or str(Path(sys.executable).parent / "dciodvfy")
    run = subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=60)
    lines = (run.stdout + run.stderr).splitlines()
    if iod is not None:
        assert any(iod in line for line in lines), lines
    return [line for line in lines if "Error" in line]
