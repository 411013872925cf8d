"""The Dockerfile builds every function image of stack.yml, with stack.yml's entry points."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import PurePosixPath

from dockerfile_parse import DockerfileParser
from manifests import REPO

from acme.render import ClusterOptions
from acme.runtime.stackfile import load_stack

STACK = load_stack(REPO / "stack.yml")


@dataclass
class Stage:
    name: str
    parent: str
    copies: list[tuple[str, str]] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def _stages() -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for item in DockerfileParser(str(REPO / "Dockerfile")).structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "FROM":
            parent, _as, name = value.split()
            current = stages[name] = Stage(name, parent)
        elif current is None:
            continue
        elif instruction == "COPY":
            *sources, target = value.split()
            current.copies += [(source, target) for source in sources]
        elif instruction == "ENTRYPOINT":
            current.entrypoint = json.loads(value)
        elif instruction == "CMD":
            current.cmd = json.loads(value)
    return stages


def _lineage(stages: dict[str, Stage], name: str) -> list[str]:
    chain = [name]
    while stages[chain[-1]].parent in stages:
        chain.append(stages[chain[-1]].parent)
    return chain


def _stage_of(image: str) -> str:
    return image.rsplit("/", 1)[-1].split(":", 1)[0]


def _ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (last match wins)."""
    ignored = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = PurePosixPath(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern == "**" or any(fnmatch(p, pattern) for p in prefixes):
            ignored = not negated
    return ignored


def test_every_function_image_has_a_stage_copying_its_folder_with_its_entry_point() -> None:
    stages = _stages()
    for name, function in STACK.functions.items():
        if name in STACK.missing():
            continue  # no folder yet: nothing to copy (infra/ leaves it out too)
        stage = _stage_of(function.image)
        assert stage in stages, f"{name}: no stage {stage!r} for {function.image}"
        folder = PurePosixPath(function.handler).as_posix().removeprefix("./")
        assert (f"{folder}/", "/srv/function/") in stages[stage].copies, name
        assert "function" in _lineage(stages, stage), name
        own = STACK.functions.get(stage, function)  # the entry named like its image
        assert stages[stage].cmd == [
            "--target", own.annotations.target, "--signature-type", own.signature,
        ], stage  # fmt: skip


def test_the_function_entry_command_serves_main_py() -> None:
    entry = _stages()["function"].entrypoint
    assert entry == ["acme-function", "--source", "/srv/function/main.py"]


def test_the_platform_stage_carries_the_stack_file_and_models_and_names_the_image() -> None:
    platform = _stages()["platform"]
    assert ("stack.yml", "./") in platform.copies and ("models/", "models/") in platform.copies
    assert _stage_of(ClusterOptions().platform_image) == "platform"


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    for stage in _stages().values():
        for source, _target in stage.copies:
            assert (REPO / source).exists(), f"{stage.name}: COPY {source}: no such path"
            assert not _ignored(source.rstrip("/")), f"{stage.name}: {source} is in .dockerignore"
    for excluded in (".venv", "tests", ".acme", "tools/manifests/node_modules"):
        assert _ignored(excluded), excluded
    assert not _ignored("functions/report/report/api.py")


def test_a_stage_per_image_not_more() -> None:
    images = {_stage_of(f.image) for n, f in STACK.functions.items() if n not in STACK.missing()}
    assert set(_stages()) - {"base", "function", "platform"} == images
