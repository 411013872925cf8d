"""``acme bench coldstart``: how long a new infer-cxr process takes to its first result.

Each round starts a new Python process three times, for a DenseNet-121-sized model (~28 MB
of ONNX, random weights, 1x1x224x224 input):

- **function path**: the process imports what infer-cxr imports (its handler module, the
  shared library, pydicom, numpy, onnxruntime), loads the model into a
  :class:`~acme.models.Predictor`, then scores one chest film from its DICOM bytes (parse,
  decode, window, resize, normalise, run);
- **bare onnxruntime** (the baseline): the process imports numpy and onnxruntime, opens the
  session and runs one preprocessed tensor;
- **forked by the prefork**: the function path (:mod:`acme.coldstart`) in a child of the
  runtime's prefork (:mod:`acme.runtime.prefork`), as ``acme up`` starts infer-cxr from zero;
  the prefork has already imported what it shares, so only the rest (infer-cxr's package,
  onnxruntime) is imported in the child. A container in the cluster starts as the function
  path does.

Each is split into process start (spawn → first line of Python), imports, model load and
first inference, and the process's own CPU time is recorded beside the wall time (on a busy
machine a new process mostly waits). The ratio is the function path's time to the first result
over the bare one; ``forked_ratio`` is the forked path's over the bare one.
Connecting to PostgreSQL, NATS and object storage and fetching the model from the registry
are left out (they depend on the servers, not on the process).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from acme.bench._common import machine, summary, write_report
from acme.errors import ServerError
from acme.models import build_densenet121, densenet121_card
from acme.runtime.forked import Prefork
from acme.samples.real import testdata_path
from acme.stack.process import log_tail

__all__ = ["run_coldstart_bench"]

INFER_CXR: Final = Path(__file__).resolve().parents[2] / "functions" / "infer-cxr"

_BARE = """
import time; began = time.time()
import json, sys
import numpy, onnxruntime
imported = time.time()
options = onnxruntime.SessionOptions()
session = onnxruntime.InferenceSession(sys.argv[2], options, providers=["CPUExecutionProvider"])
loaded = time.time()
session.run(None, {"input": numpy.zeros((1, 1, 224, 224), dtype=numpy.float32)})
print(json.dumps([began, imported, loaded, time.time(), time.process_time()]))
"""

PHASES: Final = ("process start", "imports", "model load", "first inference")


def run_coldstart_bench(out_dir: Path, *, rounds: int) -> Path:
    """Run it; write and return ``out_dir/coldstart.json`` (and ``coldstart.png``)."""
    with tempfile.TemporaryDirectory(prefix="acme-bench-coldstart-") as folder:
        onnx = build_densenet121()
        model, card = Path(folder) / "model.onnx", Path(folder) / "model.json"
        model.write_bytes(onnx)
        card.write_text(densenet121_card(onnx).model_dump_json(by_alias=True))
        argv = [str(INFER_CXR), str(model), str(card), str(testdata_path("RG1_UNCR.dcm"))]
        runs: dict[str, list[dict[str, float]]] = {
            "function path": [], "bare onnxruntime": [], "forked by the prefork": [],
        }  # fmt: skip
        with _started_prefork(Path(folder)) as prefork:
            for _ in range(rounds):
                runs["function path"].append(_phases(["-m", "acme.coldstart"], argv))
                runs["bare onnxruntime"].append(_phases(["-c", _BARE], argv))
                runs["forked by the prefork"].append(_forked_phases(prefork, argv, Path(folder)))
    medians = {
        name: {
            phase: summary([r[phase] for r in each])["median"]
            for phase in (*PHASES, "total", "cpu")
        }
        for name, each in runs.items()
    }
    report: dict[str, Any] = {
        "machine": machine(),
        "method": __doc__,
        "model_bytes": len(onnx),
        "rounds": rounds,
        "median_seconds": medians,
        "each": runs,
        "ratio": round(medians["function path"]["total"] / medians["bare onnxruntime"]["total"], 2),
        "forked_ratio": round(
            medians["forked by the prefork"]["total"] / medians["bare onnxruntime"]["total"], 2
        ),
    }
    bars = [(f"{name}: {phase}", medians[name][phase]) for name in runs for phase in PHASES]
    return write_report(
        out_dir, "coldstart", report, bars, ylabel="seconds (median)",
        title=f"to the first result: {medians['function path']['total']:.2f} s, forked "
        f"{medians['forked by the prefork']['total']:.2f} s "
        f"(bare {medians['bare onnxruntime']['total']:.2f} s)",
    )  # fmt: skip


def _phases(program: list[str], argv: list[str]) -> dict[str, float]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, *program, *argv], capture_output=True, text=True, check=True,
        cwd=argv[0],
    )  # fmt: skip
    return _split(spawned, done.stdout)


@contextlib.contextmanager
def _started_prefork(folder: Path) -> Iterator[Prefork]:
    """The runtime's prefork, once it has imported what it preloads (not part of any round)."""
    ready = threading.Event()

    def watch(line: str) -> None:
        if line.startswith("prefork ready"):
            ready.set()

    log = folder / "prefork.log"
    prefork = Prefork(env=os.environ, cwd=INFER_CXR, log_path=log, on_output=watch)
    prefork.start()
    try:
        if not ready.wait(120):
            raise ServerError("prefork", f"not ready after 120 s: {log_tail(log)}")
        yield prefork
    finally:
        prefork.stop()


def _forked_phases(prefork: Prefork, argv: list[str], folder: Path) -> dict[str, float]:
    """One round of the function path forked by the prefork, as ``acme up`` starts infer-cxr
    from zero; "process start" is the request to the prefork until the child runs."""
    lines: list[str] = []
    child = prefork.process(
        "coldstart", [sys.executable, "-m", "acme.coldstart", *argv],
        log_path=folder / "coldstart.log", cwd=INFER_CXR, env=os.environ,
        stop_signal=signal.SIGTERM, stop_timeout=5.0, on_output=lines.append,
    )  # fmt: skip
    if child is None:
        raise ServerError("prefork", "cannot fork the cold-start probe (environment differs)")
    spawned = time.time()
    child.start()
    while (code := child.exit_code()) is None:
        time.sleep(0.005)
    child.stop()  # joins the output reader
    if code != 0:
        raise ServerError("prefork", f"the cold-start probe exited with {code}: {lines[-5:]}")
    return _split(spawned, "\n".join(lines))


def _split(spawned: float, stdout: str) -> dict[str, float]:
    began, imported, loaded, finished, cpu = json.loads(stdout.strip().splitlines()[-1])
    values = (began - spawned, imported - began, loaded - imported, finished - loaded)
    phases = {phase: round(value, 3) for phase, value in zip(PHASES, values, strict=True)}
    phases["total"] = round(finished - spawned, 3)
    phases["cpu"] = round(cpu, 3)  # the process's own CPU seconds: what waiting on a busy
    return phases  # machine does not add
