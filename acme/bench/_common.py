"""What every ``acme bench`` subcommand shares: the machine it ran on, a running platform of
its own, statistics, and writing ``<name>.json`` with ``<name>.png`` under the out folder."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acme.settings import Settings, load_settings
from acme.stack.ports import free_port
from acme.stack.state import connect_settings
from acme.upprocess import stop, wait_ready

__all__ = ["Bars", "machine", "percentile", "running_platform", "summary", "write_report"]

Bars = Sequence[tuple[str, float]]
"""Labelled values of one bar chart."""


def machine() -> dict[str, Any]:
    """The machine, and how busy it was when the run began (others may share it)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory_kb = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    return {
        "cpus": cpus,
        "memory_mb": round(int(memory_kb) / 1024),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, p95, min and max of ``values``, rounded."""
    return {
        "median": round(statistics.median(values), 4),
        "p95": round(percentile(values, 0.95), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def write_report(
    out_dir: Path, name: str, report: dict[str, Any], bars: Bars, *, ylabel: str, title: str
) -> Path:
    """``out_dir/<name>.json`` (with ``machine`` and ``generated_at``) and its bar chart
    ``<name>.png``; the JSON's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": name, "generated_at": datetime.now(UTC).isoformat(), **report}
    report["chart"] = _bar_chart(out_dir / f"{name}.png", bars, ylabel=ylabel, title=title)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def _bar_chart(path: Path, bars: Bars, *, ylabel: str, title: str) -> str | None:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:  # make install brings it; a bare pip install may not
        return None
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    figure, axes = pyplot.subplots(figsize=(7.5, 4))
    labels = [label for label, _ in bars]
    values = [value for _, value in bars]
    drawn = axes.barh(labels, values, color="#4C72B0")
    axes.bar_label(drawn, fmt="%.3g", padding=3)
    axes.invert_yaxis()
    axes.set_xlabel(ylabel)
    axes.set_title(title)
    axes.margins(x=0.15)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path.name


@contextlib.contextmanager
def running_platform(
    functions: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Iterator[tuple[Settings, subprocess.Popen[bytes]]]:
    """``acme up`` in a folder of its own (its own servers), with only ``functions`` when
    given; yields the settings that reach it and its process once the gateway answers."""
    home = Path(tempfile.mkdtemp(prefix="acme-bench-"))
    port = free_port("127.0.0.1")
    child = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    child.update(ACME_HOME=str(home), ACME_GATEWAY_PORT=str(port), **(env or {}))
    if functions is not None:
        child["ACME_FUNCTIONS"] = ",".join(functions)
    log = home / "platform.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "acme.cli.main", "up"],
            env=child, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_ready(process, f"http://127.0.0.1:{port}/healthz", log, 300.0)
        overrides = {k.removeprefix("ACME_").lower(): v for k, v in (env or {}).items()}
        yield connect_settings(load_settings(home=home, **overrides)), process
    finally:
        stop(process)
        shutil.rmtree(home, ignore_errors=True)
