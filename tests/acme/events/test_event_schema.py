from __future__ import annotations

import json
from pathlib import Path

import pytest

from acme.events import EventData
from acme.events.schema import (
    DEFAULT_DIRECTORY,
    check_schemas,
    generate_schemas,
    main,
    write_schemas,
)

REPO_EVENTS = Path(__file__).resolve().parents[3] / "events"


def test_schemas_on_disk_are_not_stale() -> None:
    assert DEFAULT_DIRECTORY == REPO_EVENTS
    problems = check_schemas(REPO_EVENTS)
    assert problems == [], "run: python -m acme.events.schema\n" + "\n".join(problems)


def test_one_schema_per_type() -> None:
    names = sorted(generate_schemas())
    assert len(names) == 15
    assert "series-manifest.schema.json" in names
    assert "org.acme.imaging.series.reopened.schema.json" in names
    assert "org.acme.imaging.instance.stored.schema.json" in names
    assert "com.amazonaws.s3.schema.json" in names


def test_rendering_is_stable() -> None:
    first = generate_schemas()
    assert first == generate_schemas()
    for name, text in first.items():
        assert text.endswith("}\n"), name
        document = json.loads(text)
        assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert document["additionalProperties"] is False
        assert document["title"] == name.removesuffix(".schema.json")


def test_check_reports_missing_stale_and_extra(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    assert check_schemas(tmp_path) == []
    stale = tmp_path / "org.acme.imaging.tick.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    (tmp_path / "org.acme.imaging.instance.stored.schema.json").unlink()
    (tmp_path / "org.acme.imaging.gone.schema.json").write_text("{}\n", encoding="utf-8")
    assert check_schemas(tmp_path) == [
        "org.acme.imaging.instance.stored.schema.json: missing",
        "org.acme.imaging.tick.schema.json: stale",
        "org.acme.imaging.gone.schema.json: no model generates it",
    ]
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert main(["--dir", str(tmp_path)]) == 0
    assert check_schemas(tmp_path) == []
    assert main(["--check", "--dir", str(tmp_path)]) == 0


def test_samples_validate_against_the_published_schemas(samples: dict[str, EventData]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for event_type, data in samples.items():
        name = "com.amazonaws.s3" if event_type.startswith("com.amazonaws.s3.") else event_type
        schema = json.loads((REPO_EVENTS / f"{name}.schema.json").read_text(encoding="utf-8"))
        jsonschema.validate(data.model_dump(mode="json"), schema)
        broken = dict(data.model_dump(mode="json"), unexpected=True)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
