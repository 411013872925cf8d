"""``acme bench coldstart``: how long a new infer-cxr process takes to its first result.

Each round starts a new Python process twice, for a DenseNet-121-sized model (~28 MB of
ONNX, random weights, 1x1x224x224 input):

- **function path**: the process imports what infer-cxr imports (its handler module, the
  shared library, pydicom, numpy, onnxruntime), loads the model into a
  :class:`~acme.models.Predictor`, then scores one chest film from its DICOM bytes (parse,
  decode, window, resize, normalise, run);
- **bare onnxruntime** (the baseline): the process imports numpy and onnxruntime, opens the
  session and runs one preprocessed tensor.

Each is split into process start (spawn → first line of Python), imports, model load and
first inference, and the process's own CPU time is recorded beside the wall time (on a busy
machine a new process mostly waits). The ratio is the function path's time to the first result
over the bare one.
Connecting to PostgreSQL, NATS and object storage and fetching the model from the registry
are left out (they depend on the servers, not on the process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from acme.bench._common import machine, summary, write_report
from acme.models import build_densenet121, densenet121_card
from acme.samples.real import testdata_path

__all__ = ["run_coldstart_bench"]

INFER_CXR: Final = Path(__file__).resolve().parents[2] / "functions" / "infer-cxr"

_FUNCTION = """
import time; began = time.time()
import json, sys
sys.path.insert(0, sys.argv[1])
import main  # infer-cxr's handler module, and everything it imports
from acme.imaging import display_frames, read_dataset, to_model_input
from acme.models import ModelCard, Predictor, RegisteredModel, series_findings
imported = time.time()
card = ModelCard.from_json(open(sys.argv[3], "rb").read())
predictor = Predictor.load(RegisteredModel(card, open(sys.argv[2], "rb").read()), device="cpu")
loaded = time.time()
prep = card.preprocessing
channels, height, width = predictor.input_shape
frames = display_frames(read_dataset(open(sys.argv[4], "rb").read()), voi=prep.voi)
tensor = to_model_input(frames[0].pixels, prep, channels=channels, height=height, width=width)
series_findings(card, predictor.predict(tensor[None]))
print(json.dumps([began, imported, loaded, time.time(), time.process_time()]))
"""

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
        runs: dict[str, list[dict[str, float]]] = {"function path": [], "bare onnxruntime": []}
        for _ in range(rounds):
            runs["function path"].append(_phases(_FUNCTION, argv))
            runs["bare onnxruntime"].append(_phases(_BARE, argv))
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
    }
    bars = [(f"{name}: {phase}", medians[name][phase]) for name in runs for phase in PHASES]
    return write_report(
        out_dir, "coldstart", report, bars, ylabel="seconds (median)",
        title=f"to the first result: {medians['function path']['total']:.2f} s "
        f"(bare {medians['bare onnxruntime']['total']:.2f} s)",
    )  # fmt: skip


def _phases(code: str, argv: list[str]) -> dict[str, float]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True,
        cwd=argv[0],
    )  # fmt: skip
    began, imported, loaded, finished, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    values = (began - spawned, imported - began, loaded - imported, finished - loaded)
    phases = {phase: round(value, 3) for phase, value in zip(PHASES, values, strict=True)}
    phases["total"] = round(finished - spawned, 3)
    phases["cpu"] = round(cpu, 3)  # the process's own CPU seconds: what waiting on a busy
    return phases  # machine does not add
