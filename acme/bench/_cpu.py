"""Where a benchmark's time went: the CPU seconds each process of a running platform spent
over a window, summed by what the process is (:mod:`acme.bench._processes`)."""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterator

from acme.bench._processes import cpu_seconds_of, identify, tree

__all__ = ["cpu_seconds"]

_SELF = "benchmark"


@contextlib.contextmanager
def cpu_seconds(root: int | None = None) -> Iterator[dict[str, float]]:
    """CPU seconds (user + system) that ``root`` (this process by default, named
    ``benchmark``) and every process below it spent inside the block, summed by name, most
    first; filled in when the block ends. A process that ended inside the block is not
    counted."""
    top = os.getpid() if root is None else root
    before = _sample(top)
    spent: dict[str, float] = {}
    yield spent
    totals: dict[str, float] = defaultdict(float)
    for pid, (name, seconds) in _sample(top).items():
        earlier = before.get(pid)
        totals[name] += seconds - (earlier[1] if earlier is not None and earlier[0] == name else 0)
    spent.update((k, round(v, 2)) for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))


def _sample(root: int) -> dict[int, tuple[str, float]]:
    seen: dict[int, tuple[str, float]] = {}
    for pid in tree(root):
        identity = identify(pid)
        seconds = cpu_seconds_of(pid)
        if identity is None or seconds is None:
            continue  # ended between the listing and the reading
        seen[pid] = (_SELF if pid == root else identity.name, seconds)
    return seen
