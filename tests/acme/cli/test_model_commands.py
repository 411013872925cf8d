"""``acme models register`` and ``acme models list`` against the test servers."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from acme.cli.model_commands import models
from acme.models import ModelCard, ModelMismatchError
from acme.settings import Settings

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "cxr-synthetic" / "1.0.0"


def _env(settings: Settings, home: Path) -> dict[str, str]:
    assert settings.s3_url is not None
    return {
        "ACME_HOME": str(home),
        "ACME_S3_URL": settings.s3_url,
        "ACME_BUCKET_PREFIX": settings.bucket_prefix,
    }


def test_register_then_list(settings: Settings, tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(settings, tmp_path / "home")

    first = runner.invoke(models, ["register", str(SHIPPED)], env=env)
    again = runner.invoke(models, ["register", str(SHIPPED)], env=env)
    listed = runner.invoke(models, ["list", "--json"], env=env)

    assert first.exit_code == 0, first.output
    assert first.output.startswith("registered cxr-synthetic/1.0.0 (2 labels")
    assert again.output.startswith("already registered (unchanged): cxr-synthetic/1.0.0")
    [entry] = json.loads(listed.output)
    assert entry["name"] == "cxr-synthetic" and entry["diagnostic_use"] is False
    assert set(entry["labels"]) == {"Lung Opacity", "Pleural Effusion"}
    table = runner.invoke(models, ["list"], env={**env, "COLUMNS": "200"})
    assert "NOT FOR DIAGNOSIS" in table.output


def test_register_refuses_a_card_that_does_not_fit(settings: Settings, tmp_path: Path) -> None:
    card = ModelCard.from_json((SHIPPED / "model.json").read_bytes())
    folder = tmp_path / "wrong"
    folder.mkdir()
    (folder / "model.onnx").write_bytes((SHIPPED / "model.onnx").read_bytes())
    wrong = card.model_copy(update={"input": card.input.model_copy(update={"name": "x"})})
    (folder / "model.json").write_text(wrong.to_json())

    result = CliRunner().invoke(models, ["register", str(folder)], env=_env(settings, tmp_path))

    assert isinstance(result.exception, ModelMismatchError)
    assert "input is named 'image' but the card says input.name 'x'" in str(result.exception)
    listed = CliRunner().invoke(models, ["list", "--json"], env=_env(settings, tmp_path))
    assert json.loads(listed.output) == []
