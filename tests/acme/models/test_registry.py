"""Registration checks a model against its card; the registry lists, resolves and fetches."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import onnx
import pytest

from acme.models import (
    ChecksumMismatchError,
    CorruptModelError,
    ModelCard,
    ModelCardError,
    ModelConflictError,
    ModelMismatchError,
    ModelNotFoundError,
    ModelRegistry,
    bundled_folders,
    register_bundled,
    sha256_hex,
    version_key,
)
from acme.settings import load_settings
from acme.storage import InMemoryObjectStore

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "cxr-synthetic" / "1.0.0"


def write_folder(folder: Path, card: ModelCard, onnx_bytes: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(card.to_json())
    (folder / "model.onnx").write_bytes(onnx_bytes)
    return folder


def _with(card: ModelCard, **changes: object) -> ModelCard:
    """``card`` with nested changes ("input.shape": ...), validated again."""
    data = card.model_dump()
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return ModelCard.model_validate(data)


def test_the_shipped_model_registers_once_and_is_listed(registry: ModelRegistry) -> None:
    first = registry.register_folder(SHIPPED)
    again = registry.register_folder(SHIPPED)
    assert (first.created, again.created) == (True, False)
    [card] = registry.cards()
    assert card.ref == "cxr-synthetic/1.0.0" and not card.diagnostic_use
    assert registry.resolve("cxr-synthetic").version == "1.0.0"
    assert registry.fetch(card).onnx == (SHIPPED / "model.onnx").read_bytes()


def test_the_shipped_card_tells_how_it_was_made_and_measured(
    shipped: tuple[ModelCard, bytes],
) -> None:
    card, onnx_bytes = shipped
    assert card.sha256 == sha256_hex(onnx_bytes) and len(onnx_bytes) < 5 * 1024 * 1024
    assert card.input.shape[1:] == (1, 224, 224) and card.output.kind == "probabilities"
    assert card.label_names == ("Lung Opacity", "Pleural Effusion")
    assert card.evaluation is not None and card.evaluation.accuracy is not None
    assert set(card.evaluation.labels) == set(card.label_names)
    assert "NOT FOR DIAGNOSTIC USE" in card.intended_use
    assert card.training.script == "training/cxr/train.py"


def test_a_densenet121_shaped_model_registers_as_is(
    registry: ModelRegistry, densenet: tuple[ModelCard, bytes], tmp_path: Path
) -> None:
    card, onnx_bytes = densenet
    registration = registry.register_folder(write_folder(tmp_path / "dn", card, onnx_bytes))
    assert registration.created
    assert registry.resolve("densenet121-random").input.shape == (1, 1, 224, 224)
    assert len(registry.card("densenet121-random", "0.0.1").labels) == 14


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input.shape": ["batch", 3, 224, 224]},
         r"input 'image' has shape \[batch, 1, 224, 224\] but the card says \[batch, 3, 224, "
         r"224\] \(channels: 1 in the graph, 3 in the card\)"),
        ({"input.shape": ["batch", 1, 320, 320]}, r"height: 224 in the graph, 320 in the card"),
        ({"input.name": "pixels"}, r"input is named 'image' but the card says input.name 'pixels'"),
        ({"output.name": "scores"},
         r"no output named 'scores' \(the graph's outputs: 'probabilities'\)"),
        ({"labels": [{"name": n, "threshold": 0.5} for n in ("A", "B", "C")]},
         r"output 'probabilities' has shape \[batch, 2\] but the card lists 3 labels"),
        ({"output.kind": "logits"}, None),
    ],
    ids=["channels", "size", "input-name", "output-name", "label-count", "logits-ok"],
)  # fmt: skip
def test_a_card_that_does_not_match_its_graph_is_refused(
    registry: ModelRegistry,
    shipped: tuple[ModelCard, bytes],
    changes: dict[str, object],
    message: str | None,
) -> None:
    card, onnx_bytes = shipped
    evaluation = {"evaluation": None}
    wrong = _with(card, **changes, **evaluation)
    if message is None:
        assert registry.register(wrong, onnx_bytes).created
        return
    with pytest.raises(ModelMismatchError, match=message):
        registry.register(wrong, onnx_bytes)
    assert registry.cards() == []


def test_a_fixed_batch_card_for_a_dynamic_graph_is_fine_but_not_the_reverse(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes], densenet: tuple[ModelCard, bytes]
) -> None:
    card, onnx_bytes = shipped
    assert registry.register(_with(card, **{"input.shape": [1, 1, 224, 224]}), onnx_bytes).created
    dn_card, dn_bytes = densenet
    with pytest.raises(ModelMismatchError, match="batch: 1 in the graph, batch in the card"):
        registry.register(_with(dn_card, **{"input.shape": ["batch", 1, 224, 224]}), dn_bytes)


def test_a_model_whose_outputs_are_not_probabilities_is_refused(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes]
) -> None:
    card, onnx_bytes = shipped
    model = onnx.load_model_from_string(onnx_bytes)
    graph = model.graph
    sigmoid = next(node for node in graph.node if node.op_type == "Sigmoid")
    graph.node.remove(sigmoid)
    logits = next(node for node in graph.node if node.op_type == "Gemm")
    logits.output[0] = "probabilities"
    bias = next(init for init in graph.initializer if init.name == "head.bias")
    bias.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(bias) - 50, bias.name))
    tampered = model.SerializeToString()
    with pytest.raises(ModelMismatchError, match=r"outside \[0, 1\].*say 'logits'"):
        registry.register(_with(card, sha256=sha256_hex(tampered)), tampered)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"\x08\x07garbage" * 10, "not an ONNX model"),
        (lambda b: b[: len(b) // 2], "not an ONNX model"),
        (lambda b: b"", "not an ONNX model"),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_a_corrupt_model_is_refused(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes], mangle: object, message: str
) -> None:
    card, onnx_bytes = shipped
    assert callable(mangle)
    corrupt: bytes = mangle(onnx_bytes)
    with pytest.raises(CorruptModelError, match=message):
        registry.register(_with(card, sha256=sha256_hex(corrupt)), corrupt)


def test_a_graph_failing_the_onnx_checker_is_refused(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes]
) -> None:
    card, onnx_bytes = shipped
    model = onnx.load_model_from_string(onnx_bytes)
    model.graph.node[0].op_type = "NoSuchOperator"
    broken = model.SerializeToString()
    with pytest.raises(CorruptModelError, match="fails the ONNX checker"):
        registry.register(_with(card, sha256=sha256_hex(broken)), broken)


def test_a_sha256_mismatch_is_refused_naming_both(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes]
) -> None:
    card, onnx_bytes = shipped
    other = "0" * 64
    expected = f"sha256 is {card.sha256} but the card .* records {other}"
    with pytest.raises(ChecksumMismatchError, match=expected):
        registry.register(_with(card, sha256=other), onnx_bytes)


def test_a_version_never_changes(
    registry: ModelRegistry, shipped: tuple[ModelCard, bytes], densenet: tuple[ModelCard, bytes]
) -> None:
    card, onnx_bytes = shipped
    registry.register(card, onnx_bytes)
    with pytest.raises(ModelConflictError, match="different card"):
        registry.register(_with(card, intended_use="Anything."), onnx_bytes)
    dn_card, dn_bytes = densenet
    impostor = _with(dn_card, name=card.name, version=card.version)
    with pytest.raises(ModelConflictError, match="under a new version"):
        registry.register(impostor, dn_bytes)


def test_a_tampered_stored_model_is_not_served(
    shipped: tuple[ModelCard, bytes],
) -> None:
    store = InMemoryObjectStore(("models",))
    registry = ModelRegistry(store, "models")
    card, onnx_bytes = shipped
    registry.register(card, onnx_bytes)
    store.put("models", "cxr-synthetic/1.0.0/model.onnx", onnx_bytes + b"\x00")
    with pytest.raises(ChecksumMismatchError, match="the stored model was altered"):
        registry.fetch(card)


def test_unknown_models_and_bad_folders_are_named(
    registry: ModelRegistry, tmp_path: Path, shipped: tuple[ModelCard, bytes]
) -> None:
    with pytest.raises(ModelNotFoundError, match="model 'nope': not registered"):
        registry.resolve("nope")
    with pytest.raises(ModelNotFoundError, match=r"nope/1\.0: no model\.json"):
        registry.card("nope", "1.0")
    with pytest.raises(ModelCardError, match=r"model\.json: no such file"):
        registry.register_folder(tmp_path)
    card, onnx_bytes = shipped
    folder = write_folder(tmp_path / "m", card, onnx_bytes)
    raw = copy.deepcopy(card.model_dump(mode="json"))
    raw["labels"][0]["threshold"] = 1.5
    (folder / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelCardError, match=r"model.json: field 'labels\[0\].threshold'"):
        registry.register_folder(folder)


def test_register_bundled_registers_every_shipped_model_idempotently(tmp_path: Path) -> None:
    store = InMemoryObjectStore(("models",))
    settings = load_settings(models_dir=SHIPPED.parents[1])
    shipped = sorted(SHIPPED.parents[1].glob("*/*/model.json"))
    assert SHIPPED / "model.json" in shipped
    assert bundled_folders(settings.models_dir) == [card.parent for card in shipped]
    assert [r.created for r in register_bundled(store, settings)] == [True] * len(shipped)
    assert [r.created for r in register_bundled(store, settings)] == [False] * len(shipped)
    assert register_bundled(store, load_settings(models_dir=tmp_path / "none")) == []


def test_versions_sort_as_people_read_them() -> None:
    versions = ["1.10.0", "1.2.0", "1.9.1", "2.0.0-rc1", "1.9.0"]
    assert sorted(versions, key=version_key) == ["1.2.0", "1.9.0", "1.9.1", "1.10.0", "2.0.0-rc1"]
