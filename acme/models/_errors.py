"""The model registry's errors.

::

    ModelError                 (an AcmeError)
    ├── ModelCardError         model.json is missing, not JSON, or not a valid card
    ├── CorruptModelError      model.onnx is not a loadable ONNX model
    ├── ModelMismatchError     the ONNX graph's inputs/outputs disagree with the card
    ├── ChecksumMismatchError  model.onnx does not hash to the card's sha256
    ├── ModelConflictError     the name and version are registered with other content
    └── ModelNotFoundError     no such model (or version) in the registry
"""

from __future__ import annotations

from acme.errors import AcmeError


class ModelError(AcmeError):
    """A model cannot be registered, found or loaded; the message says which and why."""


class ModelCardError(ModelError):
    """``model.json`` is missing, not JSON, or not a valid model card (names the field)."""


class CorruptModelError(ModelError):
    """``model.onnx`` cannot be parsed, fails the ONNX checker, or onnxruntime refuses it."""


class ModelMismatchError(ModelError):
    """The ONNX graph does not have the inputs or outputs its card describes."""


class ChecksumMismatchError(ModelError):
    """``model.onnx`` does not hash to the ``sha256`` its card records."""


class ModelConflictError(ModelError):
    """The name and version are already registered with a different ``model.onnx``."""


class ModelNotFoundError(ModelError):
    """The registry holds no such model, or no such version of it."""
