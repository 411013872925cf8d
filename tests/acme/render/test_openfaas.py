"""stack.yml stays a stack file faas-cli reads.

faas-cli decodes the file into its stack types with yaml.v3: unknown keys are ignored, a
string field takes any scalar, a map of strings needs scalar values, and ``provider.name``
must be ``openfaas``, ``version`` ``1.0``. The types below are those of faas-cli's stack
package (Services, Function, FunctionResources), field for field.
"""

from __future__ import annotations

from typing import Any

import yaml
from manifests import REPO

STRING, BOOL, STRINGS, STRING_MAP = "string", "bool", "[]string", "map[string]string"
RESOURCES = {"memory": STRING, "cpu": STRING}
FUNCTION: dict[str, Any] = {
    "lang": STRING, "handler": STRING, "image": STRING, "fprocess": STRING,
    "environment": STRING_MAP, "secrets": STRINGS, "skip_build": BOOL,
    "constraints": STRINGS, "environment_file": STRINGS, "labels": STRING_MAP,
    "limits": RESOURCES, "requests": RESOURCES, "readonly_root_filesystem": BOOL,
    "build_options": STRINGS, "annotations": STRING_MAP, "namespace": STRING,
    "build_args": STRING_MAP, "platforms": STRING, "build_secrets": STRING_MAP,
}  # fmt: skip
SERVICES: dict[str, Any] = {
    "version": STRING,
    "provider": {"name": STRING, "gateway": STRING},
    "functions": ("map", FUNCTION),
    "configuration": {"templates": ("list", {"name": STRING, "source": STRING}), "copy": STRINGS},
}


def _scalar(value: object) -> bool:
    return value is not None and not isinstance(value, dict | list)


def decode(value: object, kind: Any, where: str, ignored: list[str]) -> list[str]:
    """What yaml.v3 refuses when decoding ``value`` into ``kind``; dropped keys into ``ignored``."""
    if kind == STRING:
        return [] if _scalar(value) else [f"{where}: expected a string"]
    if kind == BOOL:
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == STRINGS:
        if not isinstance(value, list) or not all(_scalar(v) for v in value):
            return [f"{where}: expected a list of strings"]
        return []
    if kind == STRING_MAP:
        if not isinstance(value, dict) or not all(_scalar(v) for v in value.values()):
            return [f"{where}: expected a map of strings"]
        return []
    if isinstance(kind, tuple):
        container, item = kind
        if container == "map" and isinstance(value, dict):
            return [e for k, v in value.items() for e in decode(v, item, f"{where}.{k}", ignored)]
        if container == "list" and isinstance(value, list):
            return [
                e for i, v in enumerate(value) for e in decode(v, item, f"{where}[{i}]", ignored)
            ]
        return [f"{where}: expected a {container}"]
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping"]
    errors = []
    for key, item in value.items():
        if key in kind:
            errors += decode(item, kind[key], f"{where}.{key}".lstrip("."), ignored)
        else:
            ignored.append(f"{where}.{key}".lstrip("."))
    return errors


def test_faas_cli_reads_stack_yml_and_drops_only_the_gpu_limits() -> None:
    document = yaml.safe_load((REPO / "stack.yml").read_text())
    ignored: list[str] = []
    assert decode(document, SERVICES, "", ignored) == []
    assert document["provider"]["name"] == "openfaas"
    assert str(document["version"]) == "1.0"
    # OpenFaaS has no GPU resource field: Knative gets it from the same key (docs/deploy.md)
    assert ignored == [
        f"functions.{name}.limits.nvidia.com/gpu"
        for name, spec in document["functions"].items()
        if "nvidia.com/gpu" in spec.get("limits", {})
    ]
    assert ignored


def test_the_decoder_refuses_what_faas_cli_refuses() -> None:
    ignored: list[str] = []
    function = {"lang": "x", "environment": {"A": {"nested": 1}}, "labels": ["a"]}
    document = {"provider": {"name": "openfaas"}, "functions": {"f": function}}
    assert decode(document, SERVICES, "", ignored) == [
        "functions.f.environment: expected a map of strings",
        "functions.f.labels: expected a map of strings",
    ]
