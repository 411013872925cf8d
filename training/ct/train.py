"""Train the synthetic CT lung nodule model, export it to ONNX and write its model card.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python training/ct/train.py --out models/ct-nodule-synthetic/1.0.0

The model scores the candidates that :func:`acme.imaging.find_candidates` finds in a CT
volume (tissue inside the lungs: nodules, and the vessels that cross them): three orthogonal
32 x 32 mm planes through each candidate (2.5D, 1 mm pixels) in, the probability that it is
a nodule out. Volumes are synthetic chest phantoms (:mod:`acme.samples.ct_model`) with
spherical nodules of known diameter, HU and place, and random vessels. Thresholds are tuned
on a validation split; every number in the card is measured with onnxruntime on the exported
file, over held-out volumes scored by the same code infer-ct runs
(:func:`acme.inference.score_candidates`). About four minutes on two cores.
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

from volumes import Split, make_split

from acme.imaging import Preprocessing
from acme.inference import score_candidates
from acme.models import (
    DetectionMetrics,
    Evaluation,
    InputSpec,
    LabelMetrics,
    LabelSpec,
    ModelCard,
    OutputSpec,
    Predictor,
    RegisteredModel,
    Training,
    sha256_hex,
    validate_model,
)

VIEW = 32
HU_WINDOW = (-1000.0, 400.0)
LABEL = "Lung nodule"
CONVS = ((3, 16, 3, 1), (16, 32, 3, 2), (32, 32, 3, 1), (32, 64, 3, 2), (64, 64, 3, 2))
"""(in, out, kernel, stride) of each convolution, each followed by a ReLU."""


class Net(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, k, stride=s, padding=k // 2) for c_in, c_out, k, s in CONVS
        )
        self.head = nn.Linear(2 * CONVS[-1][1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # logits
        for conv in self.convs:
            x = torch.relu(conv(x))
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)  # type: ignore[no-any-return]


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flips and transposes of all three views at once (a nodule has no preferred direction)."""
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.flip(-1)
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.flip(-2)
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.transpose(-1, -2)
    return batch


def train(net: Net, views: np.ndarray, labels: np.ndarray, args: argparse.Namespace) -> None:
    x_all, y_all = torch.from_numpy(views), torch.from_numpy(labels[:, None])
    generator = torch.Generator().manual_seed(args.seed)
    steps = args.epochs * ((len(x_all) + args.batch - 1) // args.batch)
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=steps)
    positives = float(labels.sum())
    weight = torch.tensor([(len(labels) - positives) / max(positives, 1.0)])
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
    net.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(x_all), generator=generator)
        total, started = 0.0, time.perf_counter()
        for start in range(0, len(x_all), args.batch):
            index = order[start : start + args.batch]
            loss = loss_fn(net(augment(x_all[index], generator)), y_all[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {total / len(x_all):.4f} "
            f"({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    net.eval()


def export_onnx(net: Net) -> bytes:
    """The trained network as an ONNX graph (opset 17), sigmoid included, batch dynamic."""
    nodes, weights = [], []
    x = "views"
    for index, conv in enumerate(net.convs):
        w, b = f"conv{index}.weight", f"conv{index}.bias"
        weights += [
            numpy_helper.from_array(conv.weight.detach().numpy(), w),
            numpy_helper.from_array(conv.bias.detach().numpy(), b),
        ]
        k, s = conv.kernel_size[0], conv.stride[0]
        nodes += [
            helper.make_node(
                "Conv", [x, w, b], [f"conv{index}"], kernel_shape=[k, k], strides=[s, s],
                pads=[k // 2] * 4,
            ),
            helper.make_node("Relu", [f"conv{index}"], [f"relu{index}"]),
        ]  # fmt: skip
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
        "ct_nodule_synthetic",
        [helper.make_tensor_value_info("views", TensorProto.FLOAT, ["batch", 3, VIEW, VIEW])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 1])],
        initializer=weights,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="acme-imaging training/ct/train.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def make_card(
    args: argparse.Namespace, onnx_bytes: bytes, prep: Preprocessing, threshold: float, train: Split
) -> ModelCard:
    return ModelCard(
        name="ct-nodule-synthetic",
        version=args.version,
        pipeline="ct",
        modalities=("CT",),
        input=InputSpec(name="views", shape=("batch", 3, VIEW, VIEW)),
        output=OutputSpec(name="probabilities", kind="probabilities"),
        preprocessing=prep,
        labels=(
            LabelSpec(
                name=LABEL,
                threshold=threshold,
                description="A solid spherical nodule inside a lung field (synthetic).",
            ),
        ),
        intended_use=(
            "Demonstration and testing of the platform only: finds solid spherical nodules in "
            "synthetic chest CT phantoms and measures their diameter. Trained and measured on "
            "synthetic volumes; its output on real CT means nothing. NOT FOR DIAGNOSTIC USE."
        ),
        diagnostic_use=False,
        sha256=sha256_hex(onnx_bytes),
        training=Training(
            data=(
                f"{train.scans} synthetic chest CT phantoms from acme.samples.ct_model "
                f"({train.nodules} nodules of 4-20 mm, 6-14 vessels each, 1.2-1.6 mm pixels, "
                f"1.25-2.5 mm slices); {len(train.labels)} candidates from "
                "acme.imaging.find_candidates, labelled by the phantoms' truth; flips and "
                "transposes"
            ),
            method=(
                "2.5D candidate classifier: axial, coronal and sagittal 32 x 32 mm planes (1 mm "
                "pixels, HU window -1000..400) as 3 channels; CNN of 5 convolutions (16-32-32-"
                "64-64, ReLU), global average + max pooling, linear layer, sigmoid; weighted "
                f"binary cross-entropy, AdamW, one-cycle schedule, {args.epochs} epochs, "
                f"batch {args.batch}, PyTorch"
            ),
            images=len(train.labels),
            script="training/ct/train.py",
            seed=args.seed,
        ),
    )


def detection_metrics(
    predictor: Predictor, split: Split, threshold: float, tolerance: float
) -> DetectionMetrics:
    """Per-lesion sensitivity, false positives per scan, diameter and centre errors, with
    the function's own scoring path."""
    found, false_positives, size_errors, centre_errors = 0, 0, [], []
    for volume, truth in split.volumes():
        detections = [d for d in score_candidates(volume, predictor) if d.probability >= threshold]
        matched: set[int] = set()
        for detection in detections:
            centre = detection.candidate.centre_mm
            hit = next(
                (
                    n
                    for n, nodule in enumerate(truth)
                    if n not in matched
                    and np.linalg.norm(centre - np.asarray(nodule.centre_mm))
                    <= max(tolerance, nodule.diameter_mm / 2)
                ),
                None,
            )
            if hit is None:
                false_positives += 1
                continue
            matched.add(hit)
            nodule = truth[hit]
            size_errors.append(abs(detection.candidate.diameter_mm - nodule.diameter_mm))
            centre_errors.append(float(np.linalg.norm(centre - np.asarray(nodule.centre_mm))))
        found += len(matched)
    lesions = split.nodules
    return DetectionMetrics(
        scans=split.scans,
        lesions=lesions,
        sensitivity=round(found / lesions, 4) if lesions else 0.0,
        false_positives_per_scan=round(false_positives / split.scans, 4),
        match_tolerance_mm=tolerance,
        diameter_error_mm_mean=round(float(np.mean(size_errors)), 3) if size_errors else 0.0,
        diameter_error_mm_max=round(float(np.max(size_errors)), 3) if size_errors else 0.0,
        centre_error_mm_mean=round(float(np.mean(centre_errors)), 3) if centre_errors else 0.0,
    )


def candidate_metrics(truth: np.ndarray, scores: np.ndarray, threshold: float) -> LabelMetrics:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cxr"))
    from metrics import label_metrics

    return label_metrics(truth, scores, threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/ct-nodule-synthetic/1.0.0"))
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--train", type=int, default=160, help="training volumes")
    parser.add_argument("--validation", type=int, default=30)
    parser.add_argument("--test", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--tolerance-mm", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    started = time.perf_counter()

    splits = {
        name: make_split(name, count, seed=args.seed)
        for name, count in (("train", args.train), ("validation", args.validation),
                            ("test", args.test))
    }  # fmt: skip
    print(
        f"{sum(len(s.labels) for s in splits.values())} candidates from "
        f"{sum(s.scans for s in splits.values())} volumes ({time.perf_counter() - started:.0f}s)",
        flush=True,
    )
    train_views = splits["train"].views
    mean = tuple(round(float(train_views[:, c].mean()), 4) for c in range(3))
    std = tuple(round(float(train_views[:, c].std()), 4) for c in range(3))
    prep = Preprocessing(voi="percentile", resize="stretch", mean=mean, std=std,
                         hu_window=HU_WINDOW)  # fmt: skip

    def normalised(split: str) -> np.ndarray:
        views = splits[split].views
        return ((views - np.asarray(mean)[:, None, None]) / np.asarray(std)[:, None, None]).astype(
            np.float32
        )

    net = Net()
    train(net, normalised("train"), splits["train"].labels, args)
    onnx_bytes = export_onnx(net)
    with torch.no_grad():
        reference = torch.sigmoid(net(torch.from_numpy(normalised("test")[:16]))).numpy()
    draft = make_card(args, onnx_bytes, prep, 0.5, splits["train"])
    predictor = Predictor.load(RegisteredModel(draft, onnx_bytes), device="cpu", max_batch=256)
    drift = float(np.abs(predictor.run(normalised("test")[:16]) - reference).max())
    print(f"onnxruntime vs PyTorch: max difference {drift:.2e}")
    if drift > 1e-4:
        raise SystemExit(f"the exported graph disagrees with PyTorch by {drift:.2e}")

    validation = predictor.run(normalised("validation"))[:, 0]
    threshold = _threshold(splits["validation"].labels, validation)
    test_scores = predictor.run(normalised("test"))[:, 0]
    test = splits["test"]
    detection = detection_metrics(predictor, test, threshold, args.tolerance_mm)
    evaluation = Evaluation(
        data=(
            f"{test.scans} held-out synthetic chest CT phantoms ({test.nodules} nodules; seeds "
            f"disjoint from training and from threshold tuning on {splits['validation'].scans} "
            "more), candidates found and scored by acme.inference.score_candidates with "
            "onnxruntime on the exported model.onnx; a nodule is found when a positive "
            f"candidate's centre lies within {args.tolerance_mm:g} mm (or its radius) of it"
        ),
        images=len(test.labels),
        labels={LABEL: candidate_metrics(test.labels, test_scores, threshold)},
        detection=detection,
    )
    card = make_card(args, onnx_bytes, prep, threshold, splits["train"])
    card = ModelCard.model_validate({**card.model_dump(), "evaluation": evaluation.model_dump()})
    validate_model(card, onnx_bytes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.onnx").write_bytes(onnx_bytes)
    (args.out / "model.json").write_text(card.to_json())
    print(evaluation.model_dump_json(indent=2))
    print(f"wrote {args.out} ({len(onnx_bytes) / 1024:.0f} KiB) in "
          f"{time.perf_counter() - started:.0f}s")  # fmt: skip


def _threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """The lowest threshold that keeps the validation candidates' specificity >= 0.98, so
    that sensitivity is as high as a false positive in 50 vessels allows."""
    negatives = np.sort(scores[truth <= 0.5])
    if len(negatives) == 0:
        return 0.5
    index = min(len(negatives) - 1, int(np.ceil(0.98 * len(negatives))) - 1)
    return round(float(min(max(negatives[index] + 1e-4, 0.05), 0.95)), 4)


if __name__ == "__main__":
    main()
