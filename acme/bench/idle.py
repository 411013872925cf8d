"""``acme bench idle``: what the whole platform takes while it waits for work.

``acme up`` with every function of stack.yml, on servers of its own, left alone for
``settle`` seconds after it answers (so scale-to-zero functions are down and caches warm).
Every process under it is then measured by its proportional set size (PSS, from
``/proc/<pid>/smaps_rollup``: shared pages counted once, split between their users) and
named: a server, a function (its ``K_SERVICE``; a function is one process), a platform
service, or ``acme up`` itself (router, gateway, supervisors). The baseline is the four
servers alone: what any deployment of the platform takes before a line of Python runs. The
ratio is the whole stack's PSS over the 600 MB goal.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

from acme.bench._common import machine, running_platform, write_report
from acme.bench._processes import identify, tree

__all__ = ["run_idle_bench"]

GOAL_MB: Final = 600.0


def run_idle_bench(out_dir: Path, *, settle: float) -> Path:
    """Run it; write and return ``out_dir/idle.json`` (and ``idle.png``)."""
    with running_platform() as (_settings, process):
        time.sleep(settle)
        processes = [_measure(pid) for pid in tree(process.pid)]
    found = [p for p in processes if p is not None]
    by_name: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for name, _kind, pss in found:
        by_name[name] += pss
        counts[name] += 1
    servers = sum(pss for _, kind, pss in found if kind == "server")
    total = sum(pss for _, _, pss in found)
    report: dict[str, Any] = {
        "machine": machine(),
        "method": __doc__,
        "settle_seconds": settle,
        "processes": len(found),
        "total_pss_mb": round(total, 1),
        "servers_pss_mb": round(servers, 1),
        "python_pss_mb": round(total - servers, 1),
        "python_processes": sum(1 for _, kind, _ in found if kind != "server"),
        "by_process": {
            name: {"pss_mb": round(pss, 1), "processes": counts[name]}
            for name, pss in sorted(by_name.items(), key=lambda item: -item[1])
        },
        "goal_mb": GOAL_MB,
        "ratio": round(total / GOAL_MB, 2),
    }
    bars = [(name, value["pss_mb"]) for name, value in report["by_process"].items()]
    return write_report(
        out_dir, "idle", report, bars, ylabel="PSS (MB)",
        title=f"idle: {total:.0f} MB in {len(found)} processes (goal {GOAL_MB:.0f} MB)",
    )  # fmt: skip


def _measure(pid: int) -> tuple[str, str, float] | None:
    """(name, kind, PSS in MB) of one process; None when it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    identity = identify(pid)
    if identity is None:
        return None
    pss_kb = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return identity.name, identity.kind, pss_kb / 1024
