"""The model registry and model execution.

- :class:`ModelCard`: ``model.json``, the record of one model version (interface,
  preprocessing, labels and thresholds, intended use, sha256, training and evaluation).
- :class:`ModelRegistry`: the ``models`` bucket, ``<name>/<version>/model.onnx`` +
  ``model.json``; registration checks the ONNX graph against its card.
  :func:`register_bundled` registers the models shipped under ``ACME_MODELS_DIR``.
- :class:`Predictor`: a model loaded in an onnxruntime session on the CUDA execution provider
  when present, else the CPU (:func:`choose_providers`), scoring batches; :class:`ModelCache`
  keeps one per model in a process.
- :func:`build_densenet121`: a DenseNet-121-shaped chest classifier with random weights, for
  tests and benchmarks.

Errors are :class:`ModelError` subclasses; see :mod:`acme.models._errors`.
"""

import importlib
from typing import TYPE_CHECKING

from acme.events.models import Coding
from acme.models._cache import Loaded, ModelCache, RuntimeOptions
from acme.models._card import (
    CARD_NAME,
    ONNX_NAME,
    DetectionMetrics,
    Evaluation,
    InputSpec,
    LabelMetrics,
    LabelSpec,
    ModelCard,
    OutputSpec,
    Training,
)
from acme.models._errors import (
    ChecksumMismatchError,
    CorruptModelError,
    ModelCardError,
    ModelConflictError,
    ModelError,
    ModelMismatchError,
    ModelNotFoundError,
)
from acme.models._onnx import sha256_hex, validate_model
from acme.models._predictor import Predictor, best_images, series_findings
from acme.models._registry import (
    ModelRegistry,
    RegisteredModel,
    Registration,
    bundled_folders,
    register_bundled,
    version_key,
)
from acme.models._session import (
    CPU,
    CUDA,
    Device,
    RunsOn,
    available_providers,
    choose_providers,
    open_session,
    runs_on,
)

__all__ = [
    "CARD_NAME",
    "CHESTX_RAY14",
    "CPU",
    "CUDA",
    "ONNX_NAME",
    "ChecksumMismatchError",
    "Coding",
    "CorruptModelError",
    "DetectionMetrics",
    "Device",
    "Evaluation",
    "InputSpec",
    "LabelMetrics",
    "LabelSpec",
    "Loaded",
    "ModelCache",
    "ModelCard",
    "ModelCardError",
    "ModelConflictError",
    "ModelError",
    "ModelMismatchError",
    "ModelNotFoundError",
    "ModelRegistry",
    "OutputSpec",
    "Predictor",
    "RegisteredModel",
    "Registration",
    "RunsOn",
    "RuntimeOptions",
    "Training",
    "available_providers",
    "best_images",
    "build_densenet121",
    "bundled_folders",
    "choose_providers",
    "densenet121_card",
    "open_session",
    "register_bundled",
    "runs_on",
    "series_findings",
    "sha256_hex",
    "validate_model",
    "version_key",
]

if TYPE_CHECKING:
    from acme.models._densenet import CHESTX_RAY14, build_densenet121, densenet121_card

_LAZY = {
    name: "acme.models._densenet"
    for name in ("CHESTX_RAY14", "build_densenet121", "densenet121_card")
}
"""Names imported on first use: building a model needs the ``onnx`` package, which a
function serving a model never does (its import takes seconds and tens of MB)."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
