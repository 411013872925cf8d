"""onnxruntime sessions: which execution provider, and the one place sessions are opened.

``auto`` takes CUDA when this onnxruntime build offers it (``onnxruntime-gpu``, the ``gpu``
extra) and the CPU otherwise; ``cuda`` insists on it; ``cpu`` never uses it. onnxruntime
quietly falls back to the CPU when the CUDA provider fails to initialise (no driver, no GPU),
so what a session really runs on is read back from it, never assumed from the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from acme.errors import ConfigError
from acme.models._errors import CorruptModelError

Device = Literal["auto", "cuda", "cpu"]
RunsOn = Literal["cpu", "cuda"]

CUDA: Final = "CUDAExecutionProvider"
CPU: Final = "CPUExecutionProvider"
DEVICE_SETTING: Final = "ACME_INFERENCE_DEVICE"

ORT_ERRORS: Final[tuple[type[Exception], ...]] = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.InvalidProtobuf,
    ort_state.NoModel,
    ort_state.NotImplemented,
    ort_state.RuntimeException,
    ort_state.EPFail,
    RuntimeError,
    ValueError,
)
"""What onnxruntime raises for a graph it cannot load or run (its errors are not RuntimeError)."""


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers."""
    providers: list[str] = list(ort.get_available_providers())
    return providers


def choose_providers(device: Device, available: Sequence[str]) -> list[str]:
    """The providers to ask for, best first, for ``device`` given what is ``available``."""
    if device == "cpu":
        return [CPU]
    has_cuda = CUDA in available
    if device == "cuda" and not has_cuda:
        raise ConfigError(
            DEVICE_SETTING,
            f"'cuda' asked for, but this onnxruntime offers only {', '.join(available)}; "
            "install onnxruntime-gpu (the 'gpu' extra) with a CUDA runtime, or use 'auto'",
        )
    return [CUDA, CPU] if has_cuda else [CPU]


def runs_on(provider: str) -> RunsOn:
    """The device a provider runs on (``cuda`` for the CUDA and TensorRT providers)."""
    return "cuda" if provider in (CUDA, "TensorrtExecutionProvider") else "cpu"


def open_session(
    onnx: bytes,
    *,
    device: Device = "auto",
    threads: int = 0,
    available: Sequence[str] | None = None,
    where: str = "model.onnx",
) -> Any:
    """An ``onnxruntime.InferenceSession`` for ``onnx`` on the best provider for ``device``.

    ``threads`` > 0 caps onnxruntime's intra-op threads (0: its default, one per core).
    Raises :class:`CorruptModelError` when onnxruntime cannot load the graph.
    """
    providers = choose_providers(device, available_providers() if available is None else available)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads > 0:
        options.intra_op_num_threads = threads
    # Idle worker threads sleep instead of spinning: between runs a function decodes and
    # resizes images with numpy, and spinning threads would take its cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(onnx, sess_options=options, providers=providers)
    except ORT_ERRORS as exc:
        raise CorruptModelError(f"{where}: onnxruntime cannot load it: {exc}") from exc


def session_provider(session: Any) -> str:
    """The provider a session really runs on (the first it kept)."""
    kept: list[str] = list(session.get_providers())
    return kept[0] if kept else CPU
