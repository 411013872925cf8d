"""A DenseNet-121 chest classifier's graph, built with ``onnx.helper``, random weights.

For tests and the benchmark only: it has the interface and the cost of the classifiers
hospitals export (CheXNet-style DenseNet-121: 1x1x224x224 float32 in, 14 sigmoid
probabilities out, ~7 M parameters, pre-activation BN-ReLU-Conv dense layers concatenated as
torchvision's export has them), and says nothing about any image. It shows a model of that
shape registers and runs without code changes.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from acme.imaging import Preprocessing
from acme.models._card import InputSpec, LabelSpec, ModelCard, OutputSpec, Training
from acme.models._onnx import sha256_hex

CHESTX_RAY14: Final = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
    "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening",
    "Hernia",
)  # fmt: skip
"""The ChestX-ray14 labels, in CheXNet's output order."""

BLOCKS: Final = (6, 12, 24, 16)
GROWTH: Final = 32
BOTTLENECK: Final = 4
OPSET: Final = 17


class _Graph:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, kind: str) -> str:
        self._count += 1
        return f"{kind}_{self._count}"

    def weight(self, name: str, values: np.ndarray) -> str:
        self.weights.append(numpy_helper.from_array(values.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int = 1) -> str:
        std = np.sqrt(2.0 / (c_in * k * k))
        w = self.weight(self.name("w"), self.rng.standard_normal((c_out, c_in, k, k)) * std)
        pad = k // 2
        return self.node(
            "Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4
        )

    def bn_relu(self, x: str, channels: int) -> str:
        names = [self.name(part) for part in ("gamma", "beta", "mean", "var")]
        values = (np.ones(channels), np.zeros(channels), np.zeros(channels), np.ones(channels))
        for name, value in zip(names, values, strict=True):
            self.weight(name, value)
        return self.node("Relu", [self.node("BatchNormalization", [x, *names], epsilon=1e-5)])


def build_densenet121(
    *, seed: int = 0, labels: tuple[str, ...] = CHESTX_RAY14, fixed_batch: bool = True
) -> bytes:
    """The serialised ONNX model (~28 MB) with input ``input`` and output ``output``."""
    g = _Graph(np.random.default_rng(seed))
    x = g.conv("input", 1, 64, 7, stride=2)
    x = g.bn_relu(x, 64)
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for index, layers in enumerate(BLOCKS):
        features = [x]
        for _ in range(layers):
            joined = features[0] if len(features) == 1 else g.node("Concat", features, axis=1)
            y = g.conv(g.bn_relu(joined, channels), channels, BOTTLENECK * GROWTH, 1)
            y = g.conv(g.bn_relu(y, BOTTLENECK * GROWTH), BOTTLENECK * GROWTH, GROWTH, 3)
            features.append(y)
            channels += GROWTH
        x = g.node("Concat", features, axis=1)
        if index < len(BLOCKS) - 1:
            x = g.conv(g.bn_relu(x, channels), channels, channels // 2, 1)
            x = g.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            channels //= 2
    x = g.node("Flatten", [g.node("GlobalAveragePool", [g.bn_relu(x, channels)])], axis=1)
    w = g.weight("classifier_w", g.rng.standard_normal((len(labels), channels)) * 0.02)
    b = g.weight("classifier_b", np.zeros(len(labels)))
    logits = g.node("Gemm", [x, w, b], transB=1)
    g.nodes.append(helper.make_node("Sigmoid", [logits], ["output"], name="sigmoid"))
    batch: int | str = 1 if fixed_batch else "batch"
    graph = helper.make_graph(
        g.nodes,
        "densenet121_chest",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 1, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, len(labels)])],
        initializer=g.weights,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="acme-imaging"
    )
    model.ir_version = 8
    return bytes(model.SerializeToString())


def densenet121_card(onnx: bytes, *, labels: tuple[str, ...] = CHESTX_RAY14) -> ModelCard:
    """A card for :func:`build_densenet121`'s model (fixed batch of 1), as a hospital writes."""
    return ModelCard(
        name="densenet121-random",
        version="0.0.1",
        pipeline="cxr",
        modalities=("CR", "DX"),
        input=InputSpec(name="input", shape=(1, 1, 224, 224)),
        output=OutputSpec(name="output", kind="probabilities"),
        preprocessing=Preprocessing(resize="stretch", mean=(0.485,), std=(0.229,)),
        labels=tuple(LabelSpec(name=label, threshold=0.5) for label in labels),
        intended_use="Interface tests and benchmarks only: random weights, meaningless output.",
        diagnostic_use=False,
        sha256=sha256_hex(onnx),
        training=Training(
            data="none: random weights (He initialisation), built by acme.models",
            method="DenseNet-121 (blocks 6-12-24-16, growth 32), 14 sigmoid outputs",
        ),
    )
