"""``acme bootstrap`` against the test servers; ``acme render delivery-key`` keeps its key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from acme.cli.main import cli
from acme.settings import Settings, env_name
from acme.storage import make_s3_client

MODELS = Path(__file__).resolve().parents[3] / "models"


def _env(settings: Settings, home: Path) -> dict[str, str]:
    fields = ("nats_url", "database_url", "redis_url", "s3_url", "bucket_prefix", "stream")
    env = {env_name(field): str(getattr(settings, field)) for field in fields}
    return env | {
        "ACME_HOME": str(home),
        "ACME_SUBJECT_PREFIX": settings.subject_prefix,
        "ACME_MODELS_DIR": str(MODELS),
    }


def test_bootstrap_prepares_external_servers_once(settings: Settings, tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(settings, tmp_path / "home")
    first = runner.invoke(cli, ["bootstrap"], env=env)
    assert first.exit_code == 0, first.output
    assert f"buckets created: {settings.buckets.inbox}" in first.output
    assert "migrations applied: 0001_initial_schema" in first.output
    assert "models registered: ct-nodule-synthetic 1.0.0, cxr-synthetic 1.0.0" in first.output
    again = runner.invoke(cli, ["bootstrap"], env=env)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines() == [
        "buckets created: none", "migrations applied: none", "models registered: none",
    ]  # fmt: skip
    client = make_s3_client(settings)
    for bucket in settings.buckets.all():
        client.head_bucket(Bucket=bucket)  # raises when missing


def test_delivery_key_is_made_once_with_its_public_key_set(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["render", "delivery-key", "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    key = json.loads((tmp_path / "events-key.json").read_text())
    assert stat.S_IMODE((tmp_path / "events-key.json").stat().st_mode) == 0o600
    (public,) = json.loads((tmp_path / "events-jwks.json").read_text())["keys"]
    assert public["kid"] == key["kid"] and "d" not in public and "d" in key
    runner.invoke(cli, ["render", "delivery-key", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "events-key.json").read_text()) == key
