"""Train the synthetic chest X-ray model, export it to ONNX and write its model card.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python training/cxr/train.py --out models/cxr-synthetic/1.0.0

A small CNN (five 3x3/5x5 convolutions, global average + max pooling, a linear layer, a
sigmoid in the graph) learns the two findings ``acme.samples.render_cxr`` really draws into
its synthetic radiographs: a lung opacity and a pleural effusion (multi-label, sigmoid). The
ONNX graph is written with ``onnx.helper`` from the trained weights and checked against
PyTorch; thresholds are tuned on a validation split and every metric in the card is measured
with onnxruntime on the exported file, on a test split neither training nor tuning saw.
About three minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import INPUT_SIZE, LABELS, Dataset, make_split
from metrics import exact_match, label_metrics, youden_threshold

from acme.imaging import Preprocessing
from acme.models import (
    Evaluation,
    InputSpec,
    LabelSpec,
    ModelCard,
    OutputSpec,
    Predictor,
    RegisteredModel,
    Training,
    sha256_hex,
    validate_model,
)

SIZE, N_LABELS = INPUT_SIZE, len(LABELS)
CONVS = ((1, 16, 5, 2), (16, 32, 3, 2), (32, 32, 3, 1), (32, 64, 3, 2), (64, 64, 3, 2))
"""(in, out, kernel, stride) of each convolution, each followed by a ReLU."""


class Net(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, k, stride=s, padding=k // 2) for c_in, c_out, k, s in CONVS
        )
        self.head = nn.Linear(2 * CONVS[-1][1], len(LABELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # logits
        for conv in self.convs:
            x = torch.relu(conv(x))
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)  # type: ignore[no-any-return]


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random gamma and contrast on display values in [0, 1] (windowing varies by site)."""
    n = batch.shape[0]
    gamma = torch.empty(n, 1, 1, 1).uniform_(0.75, 1.35, generator=generator)
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.85, 1.15, generator=generator)
    out = batch.clamp(0.0, 1.0) ** gamma
    return ((out - 0.5) * contrast + 0.5).clamp(0.0, 1.0)


def train(net: Net, data: Dataset, mean: float, std: float, args: argparse.Namespace) -> None:
    images = torch.from_numpy(data.images)
    labels = torch.from_numpy(data.labels)
    generator = torch.Generator().manual_seed(args.seed)
    steps = args.epochs * ((len(images) + args.batch - 1) // args.batch)
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=steps)
    loss_fn = nn.BCEWithLogitsLoss()
    net.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(images), generator=generator)
        total, started = 0.0, time.perf_counter()
        for start in range(0, len(images), args.batch):
            index = order[start : start + args.batch]
            x = (augment(images[index], generator) - mean) / std
            loss = loss_fn(net(x), labels[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {total / len(images):.4f} "
            f"({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    net.eval()


def export_onnx(net: Net) -> bytes:
    """The trained network as an ONNX graph (opset 17), sigmoid included, batch dynamic."""
    nodes, weights = [], []
    x = "image"
    for index, conv in enumerate(net.convs):
        w, b = f"conv{index}.weight", f"conv{index}.bias"
        weights += [
            numpy_helper.from_array(conv.weight.detach().numpy(), w),
            numpy_helper.from_array(conv.bias.detach().numpy(), b),
        ]
        k, s = conv.kernel_size[0], conv.stride[0]
        nodes.append(
            helper.make_node(
                "Conv",
                [x, w, b],
                [f"conv{index}"],
                kernel_shape=[k, k],
                strides=[s, s],
                pads=[k // 2] * 4,
            )
        )
        nodes.append(helper.make_node("Relu", [f"conv{index}"], [f"relu{index}"]))
        x = f"relu{index}"
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["avg"]),
        helper.make_node("GlobalMaxPool", [x], ["max"]),
        helper.make_node("Concat", ["avg", "max"], ["pooled4d"], axis=1),
        helper.make_node("Flatten", ["pooled4d"], ["pooled"], axis=1),
        helper.make_node("Gemm", ["pooled", "head.weight", "head.bias"], ["logits"], transB=1),
        helper.make_node("Sigmoid", ["logits"], ["probabilities"]),
    ]
    weights += [
        numpy_helper.from_array(net.head.weight.detach().numpy(), "head.weight"),
        numpy_helper.from_array(net.head.bias.detach().numpy(), "head.bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "cxr_synthetic",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", N_LABELS])],
        initializer=weights,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="acme-imaging training/cxr/train.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def make_card(
    args: argparse.Namespace,
    onnx_bytes: bytes,
    prep: Preprocessing,
    thresholds: list[float],
    train_count: int,
) -> ModelCard:
    descriptions = (
        "A soft rounded opacity within a lung field (synthetic).",
        "Fluid at a lung base with a meniscus (synthetic).",
    )
    return ModelCard(
        name="cxr-synthetic",
        version=args.version,
        pipeline="cxr",
        modalities=("CR", "DX"),
        input=InputSpec(name="image", shape=("batch", 1, INPUT_SIZE, INPUT_SIZE)),
        output=OutputSpec(name="probabilities", kind="probabilities"),
        preprocessing=prep,
        labels=tuple(
            LabelSpec(name=name, threshold=threshold, description=text)
            for name, threshold, text in zip(LABELS, thresholds, descriptions, strict=True)
        ),
        intended_use=(
            "Demonstration and testing of the platform only. Trained and measured on synthetic "
            "images; its output on real radiographs means nothing. NOT FOR DIAGNOSTIC USE."
        ),
        diagnostic_use=False,
        sha256=sha256_hex(onnx_bytes),
        training=Training(
            data=(
                f"{train_count} synthetic PA chest radiographs from acme.samples.render_cxr "
                "(a third each normal, lung opacity, pleural effusion; rendered at 320-640 px, "
                "stored as 12-bit, downsampled to 224 px), random gamma and contrast"
            ),
            method=(
                "CNN: 5 convolutions (16-32-32-64-64 channels, ReLU), global average + max "
                "pooling, linear layer, sigmoid; binary cross-entropy per label, AdamW with a "
                f"one-cycle schedule, {args.epochs} epochs, batch {args.batch}, PyTorch"
            ),
            images=train_count,
            script="training/cxr/train.py",
            seed=args.seed,
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/cxr-synthetic/1.0.0"))
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--train", type=int, default=2400)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)

    started = time.perf_counter()
    counts = {"train": args.train, "validation": args.validation, "test": args.test}
    data = {name: make_split(name, count, seed=args.seed) for name, count in counts.items()}
    print(
        f"rendered {sum(len(d.labels) for d in data.values())} images "
        f"({time.perf_counter() - started:.0f}s)",
        flush=True,
    )
    mean, std = float(data["train"].images.mean()), float(data["train"].images.std())
    prep = Preprocessing(resize="stretch", mean=(round(mean, 4),), std=(round(std, 4),))

    net = Net()
    train(net, data["train"], prep.mean[0], prep.std[0], args)
    onnx_bytes = export_onnx(net)

    def normalised(split: str) -> np.ndarray:
        return ((data[split].images - prep.mean[0]) / prep.std[0]).astype(np.float32)

    with torch.no_grad():
        reference = torch.sigmoid(net(torch.from_numpy(normalised("test")[:16]))).numpy()

    draft = make_card(args, onnx_bytes, prep, [0.5] * len(LABELS), len(data["train"].labels))
    predictor = Predictor.load(RegisteredModel(draft, onnx_bytes), device="cpu", max_batch=64)
    exported = predictor.run(normalised("test")[:16])
    drift = float(np.abs(exported - reference).max())
    print(f"onnxruntime vs PyTorch: max difference {drift:.2e}")
    if drift > 1e-4:
        raise SystemExit(f"the exported graph disagrees with PyTorch by {drift:.2e}")

    val_scores = predictor.run(normalised("validation"))
    thresholds = [
        youden_threshold(data["validation"].labels[:, i], val_scores[:, i])
        for i in range(len(LABELS))
    ]
    test_scores = predictor.run(normalised("test"))
    truth = data["test"].labels
    evaluation = Evaluation(
        data=(
            f"{len(truth)} held-out synthetic radiographs (seeds disjoint from training and "
            f"threshold tuning on {len(data['validation'].labels)} more), scored by "
            "onnxruntime on the exported model.onnx; thresholds maximise Youden's J on the "
            "validation split"
        ),
        images=len(truth),
        accuracy=exact_match(truth, test_scores, tuple(thresholds)),
        labels={
            name: label_metrics(truth[:, i], test_scores[:, i], thresholds[i])
            for i, name in enumerate(LABELS)
        },
    )
    card = make_card(args, onnx_bytes, prep, thresholds, len(data["train"].labels))
    card = card.model_copy(update={"evaluation": evaluation})
    card = ModelCard.model_validate(card.model_dump())
    validate_model(card, onnx_bytes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.onnx").write_bytes(onnx_bytes)
    (args.out / "model.json").write_text(card.to_json())
    print(evaluation.model_dump_json(indent=2))
    print(
        f"wrote {args.out} ({len(onnx_bytes) / 1024:.0f} KiB) in "
        f"{time.perf_counter() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
