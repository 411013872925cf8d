"""JSON Schemas of the event data under ``events/``, generated from the models.

docs/architecture.md §3: the SPA and outside consumers read these files; they are generated, never
edited, and a test fails when they are stale. One file per type, ``events/<type>.schema.json``;
every ``com.amazonaws.s3.<eventName>`` type shares ``events/com.amazonaws.s3.schema.json``
(event names hold ``:``, which some file systems refuse). The completion manifest an
uploader puts into dicom-inbox (:mod:`acme.series_manifest`) is not an event but is read by
outside producers too: ``events/series-manifest.schema.json``.

``python -m acme.events.schema`` writes them; ``python -m acme.events.schema --check`` exits 1
and lists what is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pydantic import BaseModel

from acme.events.models import EVENT_MODELS, S3Object
from acme.events.types import S3_TYPE_PREFIX
from acme.series_manifest import SeriesManifest

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SUFFIX: Final = ".schema.json"
DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parents[2] / "events"
"""``events/`` at the root of the source tree this package was imported from."""


def schema_models() -> dict[str, type[BaseModel]]:
    """Schema name (the type, ``com.amazonaws.s3`` for all bucket events, or
    ``series-manifest``) -> model."""
    models: dict[str, type[BaseModel]] = {
        str(event_type): model for event_type, model in EVENT_MODELS.items()
    }
    models[S3_TYPE_PREFIX.rstrip(".")] = S3Object
    models["series-manifest"] = SeriesManifest
    return models


def render_schema(name: str, model: type[BaseModel]) -> str:
    """The schema document of one model: sorted keys, two-space indent, trailing newline."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"{name}{SUFFIX}"
    schema["title"] = name
    schema["x-model"] = model.__name__
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate_schemas() -> dict[str, str]:
    """File name -> content of every schema file."""
    return {
        f"{name}{SUFFIX}": render_schema(name, model) for name, model in schema_models().items()
    }


def write_schemas(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    """Write every schema into ``directory``, remove stale ones; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = generate_schemas()
    for stale in directory.glob(f"*{SUFFIX}"):
        if stale.name not in expected:
            stale.unlink()
    written = []
    for name, content in expected.items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def check_schemas(directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    """What differs between the models and ``directory``: one line per file; empty when fresh."""
    expected = generate_schemas()
    problems = []
    for name, content in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name}: stale")
    problems.extend(
        f"{path.name}: no model generates it"
        for path in sorted(directory.glob(f"*{SUFFIX}"))
        if path.name not in expected
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schemas (default) or, with ``--check``, report stale ones and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m acme.events.schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIRECTORY, help="schema folder")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_schemas(args.dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python -m acme.events.schema", file=sys.stderr)
        return 1 if problems else 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
