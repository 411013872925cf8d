"""acme audit verify / export straight from PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from cloudevents.http import CloudEvent
from fhir.resources.R4B.bundle import Bundle

from acme.audit import AuditQuery, append_event, query_rows
from acme.cli.audit_commands import audit
from acme.events import EventType
from acme.function import Context

STUDY = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture
def cli(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    assert ctx.settings.database_url is not None
    monkeypatch.setenv("ACME_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("ACME_HOME", str(ctx.settings.home))

    def run(*args: str) -> Any:
        return CliRunner().invoke(audit, list(args), catch_exceptions=False)

    return run


def test_verify_exits_1_naming_the_broken_row(
    ctx: Context,
    cli: Callable[..., Any],
    every_type: list[CloudEvent],
    superuser: psycopg.Connection[Any],
) -> None:
    for event in every_type:
        append_event(ctx.db, event)
    intact = cli("verify")
    assert intact.exit_code == 0
    assert intact.output.startswith(f"audit trail intact: {len(every_type)} rows, head")
    head = json.loads(cli("verify", "--json").output)
    anchor = f"{head['head_id']}:{head['head_hash']}"
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        superuser.execute("DELETE FROM audit_events WHERE id = 4")
    broken = cli("verify", "--head", anchor)
    assert broken.exit_code == 1
    assert broken.output.strip() == (
        "audit trail broken at row 4: row(s) 4 are missing (deleted): row 5 follows row 3"
    )
    bad = cli("verify", "--head", "nine")
    assert bad.exit_code == 2 and "expected ID:HASH" in bad.output


def test_export_writes_a_bundle_and_records_itself(
    ctx: Context, cli: Callable[..., Any], every_type: list[CloudEvent], tmp_path: Path
) -> None:
    for event in every_type:
        append_event(ctx.db, event)
    target = tmp_path / "study.fhir.json"
    result = cli("export", "--study", STUDY, "-o", str(target))
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(target.read_bytes())
    naming = [e for e in every_type if (e.get_data() or {}).get("study_uid") == STUDY]
    assert len(naming) >= 8 and len(bundle.entry) == len(naming)
    exports = query_rows(ctx.db, AuditQuery(type=EventType.ACCESS_RECORDED, actor=None)).rows
    mine = [row for row in exports if row.data["action"] == "export"]
    assert len(mine) == 1 and mine[0].study_uid == STUDY
    assert mine[0].data["resource"] == f"acme audit export --study {STUDY}"
    ranged = cli("export", "--since", "2000-01-01T00:00:00Z")
    assert ranged.exit_code == 0
    assert len(Bundle.model_validate_json(ranged.output).entry) == len(every_type) + 1
    assert cli("export").exit_code == 2
    naive = cli("export", "--since", "2025-01-01T00:00:00")
    assert naive.exit_code == 2 and "UTC offset" in naive.output
