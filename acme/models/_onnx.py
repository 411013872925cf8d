"""Check an ONNX file against its model card before it may enter the registry.

In order, each failure naming what differs: the file hashes to the card's ``sha256``; it
parses and passes the ONNX checker; its one graph input has the card's name, dtype and shape;
the card's output exists, is float32 of rank 2 with one column per label; onnxruntime loads
it; and a blank batch run through it gives finite scores of shape [batch, labels] (within
[0, 1] when the card says the graph ends in a sigmoid).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

from acme.models._card import ONNX_NAME, InputSpec, ModelCard
from acme.models._errors import ChecksumMismatchError, CorruptModelError, ModelMismatchError
from acme.models._session import ORT_ERRORS, open_session

if TYPE_CHECKING:  # the onnx package is imported only to validate a model being registered
    import onnx

OnnxDim = int | str | None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_model(card: ModelCard, data: bytes, *, where: str = ONNX_NAME) -> None:
    """Raise unless ``data`` is a loadable ONNX model with exactly the card's interface."""
    digest = sha256_hex(data)
    if digest != card.sha256:
        raise ChecksumMismatchError(
            f"{where}: sha256 is {digest} but the card ({card.ref}) records {card.sha256}"
        )
    graph = _parse(data, where).graph
    _check_input(card.input, graph, where)
    _check_output(card, graph, where)
    session = open_session(data, device="cpu", threads=1, where=where)
    _probe(card, session, where)


def _parse(data: bytes, where: str) -> onnx.ModelProto:
    import onnx
    from google.protobuf.message import DecodeError as ProtobufDecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (ProtobufDecodeError, ValueError, RuntimeError) as exc:
        raise CorruptModelError(f"{where}: not an ONNX model ({exc})") from exc
    if not model.graph.node:
        raise CorruptModelError(f"{where}: not an ONNX model (the graph has no nodes)")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise CorruptModelError(f"{where}: fails the ONNX checker: {first}") from exc
    return model


def _dims(value: onnx.ValueInfoProto) -> list[OnnxDim] | None:
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims: list[OnnxDim] = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or None)
    return dims


def _dtype(value: onnx.ValueInfoProto) -> str:
    """The numpy name of a tensor's element type (``float32``, ``float16``, ``uint8``...)."""
    import onnx
    from onnx import TensorProto

    elem_type = value.type.tensor_type.elem_type
    if elem_type == TensorProto.UNDEFINED:
        return "undefined"
    return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type).name)


def _show(dims: list[OnnxDim] | tuple[int | str, ...] | None) -> str:
    if dims is None:
        return "(unknown)"
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _check_input(spec: InputSpec, graph: onnx.GraphProto, where: str) -> None:
    initialisers = {init.name for init in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initialisers]
    names = ", ".join(repr(value.name) for value in inputs)
    if len(inputs) != 1:
        raise ModelMismatchError(
            f"{where}: the graph has {len(inputs)} inputs ({names}); the card describes one, "
            f"{spec.name!r}"
        )
    value = inputs[0]
    if value.name != spec.name:
        raise ModelMismatchError(
            f"{where}: input is named {value.name!r} but the card says input.name {spec.name!r}"
        )
    if _dtype(value) != spec.dtype:
        raise ModelMismatchError(
            f"{where}: input {spec.name!r} is {_dtype(value)} but the card says {spec.dtype}"
        )
    dims = _dims(value)
    if dims is None:
        return
    if len(dims) != len(spec.shape):
        raise ModelMismatchError(
            f"{where}: input {spec.name!r} has shape {_show(dims)} (rank {len(dims)}) but the "
            f"card says {_show(spec.shape)}"
        )
    axes = ("batch", "channels", "height", "width")
    for axis, want, got in zip(axes, spec.shape, dims, strict=True):
        fixed_in_graph = isinstance(got, int)
        if (isinstance(want, int) and fixed_in_graph and want != got) or (
            isinstance(want, str) and fixed_in_graph
        ):
            raise ModelMismatchError(
                f"{where}: input {spec.name!r} has shape {_show(dims)} but the card says "
                f"{_show(spec.shape)} ({axis}: {got} in the graph, {want} in the card)"
            )


def _check_output(card: ModelCard, graph: onnx.GraphProto, where: str) -> None:
    outputs = {value.name: value for value in graph.output}
    value = outputs.get(card.output.name)
    if value is None:
        raise ModelMismatchError(
            f"{where}: no output named {card.output.name!r} (the graph's outputs: "
            f"{', '.join(repr(name) for name in outputs)})"
        )
    if _dtype(value) != card.output.dtype:
        raise ModelMismatchError(
            f"{where}: output {card.output.name!r} is {_dtype(value)} but the card says "
            f"{card.output.dtype}"
        )
    dims = _dims(value)
    if dims is None:
        return
    labels = len(card.labels)
    if len(dims) != 2 or (isinstance(dims[1], int) and dims[1] != labels):
        raise ModelMismatchError(
            f"{where}: output {card.output.name!r} has shape {_show(dims)} but the card lists "
            f"{labels} labels (expected [batch, {labels}])"
        )


def _probe(card: ModelCard, session: Any, where: str) -> None:
    spec = card.input
    batch = spec.fixed_batch or 2
    blank = np.zeros((batch, spec.channels, spec.height, spec.width), dtype=np.float32)
    try:
        (scores,) = session.run([card.output.name], {spec.name: blank})
    except ORT_ERRORS as exc:
        raise CorruptModelError(f"{where}: a blank batch of {batch} fails to run: {exc}") from exc
    labels = len(card.labels)
    if scores.shape != (batch, labels):
        raise ModelMismatchError(
            f"{where}: output {card.output.name!r} gave shape {list(scores.shape)} for a batch "
            f"of {batch}; the card lists {labels} labels (expected [{batch}, {labels}])"
        )
    if not np.all(np.isfinite(scores)):
        raise ModelMismatchError(
            f"{where}: output {card.output.name!r} is not finite for a blank image"
        )
    if card.output.kind == "probabilities" and (scores.min() < 0.0 or scores.max() > 1.0):
        raise ModelMismatchError(
            f"{where}: output {card.output.name!r} gave values outside [0, 1] "
            f"({float(scores.min()):.3g}..{float(scores.max()):.3g}) but the card says "
            "output.kind 'probabilities'; say 'logits' if the graph has no final sigmoid"
        )
