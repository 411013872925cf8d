"""Every function of stack.yml is deployable, and every consumed event has a producer.

Producers are read from the code itself: the ``EventType`` each function folder passes to
``ctx.emit``/``new_event``, ``access.recorded`` for every HTTP function (each PHI route is
audited), the tick source and the bucket-events adapter; pipeline values from dicom-ingest's
routing rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from manifests import INFRA, REPO, documents

from acme.events import EventType
from acme.events.types import OBJECT_CREATED_PREFIX
from acme.runtime.stackfile import load_stack

STACK = load_stack(REPO / "stack.yml")
PLATFORM_SOURCES = {
    "tick source": {EventType.TICK.value},
    "bucket-events adapter": {f"{OBJECT_CREATED_PREFIX}Put", f"{OBJECT_CREATED_PREFIX}Post"},
}


@pytest.mark.parametrize("name", list(STACK.functions))
def test_every_function_has_a_folder_an_entry_point_a_service_and_its_triggers(
    name: str,
) -> None:
    function = STACK.functions[name]
    if name in STACK.missing():
        pytest.xfail(f"{name}: {function.handler} has no main.py yet; infra/ leaves it out")
    tree = ast.parse((STACK.source(name) / "main.py").read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)} | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert function.annotations.target in defined, f"{name}: no {function.annotations.target}"
    (service,) = documents(INFRA / "base" / "functions" / f"{name}.yaml")
    assert service["kind"] == "Service" and service["metadata"]["name"] == name
    trigger_file = INFRA / "eventing" / "triggers" / f"{name}.yaml"
    names = {t["metadata"]["name"] for t in documents(trigger_file)} if function.triggers else set()
    assert names == {f"{name}-{t.name}" for t in function.triggers}
    assert trigger_file.exists() == bool(function.triggers)


def _shared_modules(folder: Path) -> set[Path]:
    """The files of the shared library's packages a function's code imports (``acme.inference``
    holds the inference events every pipeline emits)."""
    found: set[Path] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("acme."):
                where = REPO.joinpath(*(node.module or "").split("."))
                if where.is_dir():
                    found |= set(where.glob("*.py"))
    return found


def _emitted(folder: Path) -> set[str]:
    types = set()
    for path in [*folder.rglob("*.py"), *_shared_modules(folder)]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else None
            called = called or (node.func.id if isinstance(node.func, ast.Name) else None)
            first = node.args[0]
            if (
                called in {"emit", "new_event"}
                and isinstance(first, ast.Attribute)
                and isinstance(first.value, ast.Name)
                and first.value.id == "EventType"
            ):
                types.add(EventType[first.attr].value)
    return types


def _producers() -> dict[str, set[str]]:
    producers = dict(PLATFORM_SOURCES)
    for name, function in STACK.functions.items():
        if name in STACK.missing():
            continue
        produced = _emitted(STACK.source(name))
        if function.signature == "http":
            produced.add(EventType.ACCESS_RECORDED.value)
        producers[name] = produced
    return producers


def test_the_producers_are_found_in_the_code() -> None:
    producers = _producers()
    assert producers["dicom-ingest"] == {
        EventType.INSTANCE_STORED, EventType.INSTANCE_REJECTED, EventType.SERIES_COMPLETED,
        EventType.SERIES_REOPENED,
    }  # fmt: skip
    assert producers["infer-cxr"] == {EventType.INFERENCE_COMPLETED, EventType.INFERENCE_FAILED}


def test_every_consumed_event_type_is_produced_by_some_function_or_source() -> None:
    produced = set().union(*_producers().values())
    routing = yaml.safe_load((REPO / "functions" / "dicom-ingest" / "routing.yml").read_text())
    pipelines = {rule["pipeline"] for rule in routing["rules"]} | {routing["default_pipeline"]}
    for name, function in STACK.functions.items():
        for trigger in function.triggers:
            (wanted,) = [f for f in trigger.filters if f.attribute == "type"]
            if wanted.prefix:
                matched = [t for t in produced if t.startswith(wanted.value)]
            else:
                matched = [t for t in produced if t == wanted.value]
            assert matched, f"{name}.{trigger.name}: nothing produces {trigger.event_type}"
            if "pipeline" in trigger.attributes:
                assert trigger.attributes["pipeline"] in pipelines, f"{name}.{trigger.name}"
