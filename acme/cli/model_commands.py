"""``acme models list`` and ``acme models register PATH``: the model registry."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from acme.models import ModelCard, ModelRegistry
from acme.settings import load_settings
from acme.stack.state import connect_settings
from acme.storage import S3ObjectStore, ensure_buckets, make_s3_client


def _registry() -> ModelRegistry:
    settings = connect_settings(load_settings())
    client = make_s3_client(settings)
    ensure_buckets(client, (settings.buckets.models,))
    return ModelRegistry.of(S3ObjectStore(client), settings)


def _summary(card: ModelCard) -> dict[str, object]:
    evaluation = card.evaluation
    return {
        "name": card.name,
        "version": card.version,
        "pipeline": card.pipeline,
        "input": list(card.input.shape),
        "labels": {label.name: label.threshold for label in card.labels},
        "diagnostic_use": card.diagnostic_use,
        "accuracy": evaluation.accuracy if evaluation else None,
        "auc": {k: v.auc for k, v in evaluation.labels.items()} if evaluation else {},
        "sha256": card.sha256,
    }


@click.group()
def models() -> None:
    """The model registry: <name>/<version>/model.onnx + model.json in the models bucket."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def list_models(as_json: bool) -> None:
    """List the registered models with their labels, thresholds and held-out results."""
    cards = _registry().cards()
    if as_json:
        click.echo(json.dumps([_summary(card) for card in cards], indent=2))
        return
    table = Table("model", "pipeline", "input", "labels (threshold)", "held-out", "diagnosis")
    for card in cards:
        evaluation = card.evaluation
        measured = "-"
        if evaluation is not None and evaluation.accuracy is not None:
            measured = f"accuracy {evaluation.accuracy:.3f} on {evaluation.images}"
        table.add_row(
            card.ref,
            card.pipeline,
            "x".join(str(d) for d in card.input.shape),
            ", ".join(f"{label.name} ({label.threshold:g})" for label in card.labels),
            measured,
            "yes" if card.diagnostic_use else "NOT FOR DIAGNOSIS",
        )
    Console().print(table if cards else "no models registered")


@models.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def register(path: Path) -> None:
    """Register PATH (a folder with model.onnx and model.json) after checking one against the
    other: inputs, outputs, labels, sha256. A registered version never changes."""
    registration = _registry().register_folder(path)
    card = registration.card
    verb = "registered" if registration.created else "already registered (unchanged):"
    click.echo(f"{verb} {card.ref} ({len(card.labels)} labels, sha256 {card.sha256[:12]})")
