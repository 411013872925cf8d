"""What each long-running platform process imports: its memory for the platform's lifetime.

Each case imports a process's entry module in a fresh interpreter and lists the heavy packages
it pulled in. A package-level re-export or a type-only import made real again would bring
them back into every idle process (docs/decisions/0123-idle-footprint.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydicom", "numpy", "onnxruntime", "onnx", "scipy", "highdicom", "fhir", "pynetdicom")

_PROBE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
if len(sys.argv) > 2:  # a subcommand of the acme CLI, resolved as `acme <name>` does
    module.cli.get_command(None, sys.argv[2])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} | set(sys.modules))))
"""


def _imported(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (("acme.cli.main", "up"), HEAVY),
        (("acme.runtime.tick",), (*HEAVY, "acme.runtime.app", "acme.stack.stack", "boto3")),
        (("acme.runtime.bucket_events",), (*HEAVY, "acme.runtime.app", "acme.stack.stack")),
        (("acme.runtime.dicom_receiver",), ("onnxruntime", "onnx", "acme.runtime.app")),
    ],
    ids=["acme up", "tick", "bucket-events", "dicom-receiver"],
)
def test_a_platform_process_imports_only_what_it_runs(
    argv: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    imported = _imported(*argv)
    assert argv[0] in imported
    assert sorted(set(absent) & imported) == []


def test_the_probe_sees_what_a_command_imports() -> None:
    """The probe itself: `acme bench` does import pydicom and onnxruntime."""
    assert {"pydicom", "onnxruntime"} <= _imported("acme.cli.main", "bench")


_PRELOAD = """
import importlib, json, sys, threading
from acme.runtime.prefork import PRELOAD
for name in PRELOAD:
    importlib.import_module(name)
print(json.dumps([threading.active_count(), sorted(sys.modules)]))
"""


def test_the_prefork_preloads_no_inference_runtime_and_starts_no_thread() -> None:
    """What the prefork imports every child shares; a Python thread running when it forks
    would be missing (and hold its locks for ever) in the child."""
    done = subprocess.run(
        [sys.executable, "-c", _PRELOAD], capture_output=True, text=True, check=True
    )
    threads, modules = json.loads(done.stdout)
    assert threads == 1
    assert {"onnxruntime", "onnx", "scipy"} & {m.split(".")[0] for m in modules} == set()
    assert {"pydicom", "boto3", "psycopg", "functions_framework"} <= set(modules)
