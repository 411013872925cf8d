"""Every generated manifest validates offline against the upstream schemas and types.

Built-in kinds against kubernetes-models, Knative kinds against @kubernetes-models/knative
(both npm, in tools/manifests), and field names against their TypeScript types, since
Knative's schemas (and the API server) accept and drop unknown fields. Each kustomization
builds with ``kubectl kustomize``, and what it builds validates too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from manifests import INFRA, Manifest, documents, kustomize, manifest_files, validate

DEPLOYMENTS = {
    "infra/knative": INFRA,
    "infra/knative/overlays/gpu": INFRA / "overlays" / "gpu",
    "infra/knative/overlays/natss-broker": INFRA / "overlays" / "natss-broker",
}


def _entries() -> list[tuple[str, Manifest]]:
    return [
        (f"{path.relative_to(INFRA)}#{index}", doc)
        for path in manifest_files()
        for index, doc in enumerate(documents(path))
    ]


def _first(kind: str) -> Manifest:
    return copy.deepcopy(next(doc for _source, doc in _entries() if doc["kind"] == kind))


def test_every_generated_manifest_validates() -> None:
    entries = _entries()
    kinds = {doc["kind"] for _source, doc in entries}
    assert kinds >= {"Service", "Broker", "Trigger", "SinkBinding", "ContainerSource"}
    assert kinds >= {"Deployment", "Job", "ConfigMap", "Namespace"}
    assert validate(entries) == []


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_each_deployment_builds_and_what_it_builds_validates(name: str) -> None:
    built = kustomize(DEPLOYMENTS[name])
    assert built, name
    assert {doc["metadata"].get("namespace") for doc in built if doc["kind"] != "Namespace"} == {
        "acme"
    }
    assert validate([(f"{name}#{i}", doc) for i, doc in enumerate(built)]) == []


def test_the_gpu_overlay_puts_only_gpu_functions_on_gpu_nodes() -> None:
    built = kustomize(DEPLOYMENTS["infra/knative/overlays/gpu"])
    services = {doc["metadata"]["name"]: doc for doc in built if doc["kind"] == "Service"}
    spec = {name: doc["spec"]["template"]["spec"] for name, doc in services.items()}
    placed = {name for name, pod in spec.items() if "nodeSelector" in pod}
    gpu = {
        name
        for name, pod in spec.items()
        if pod["containers"][0].get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
    }
    assert gpu and placed == gpu
    pod = services[sorted(gpu)[0]]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


def _container(doc: Manifest) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


MISTAKES: dict[str, tuple[str, Callable[[Manifest], None], str]] = {
    "service field": (
        "Service",
        lambda d: d["spec"]["template"]["spec"].update(containerConcurency=2),
        "containerConcurency",
    ),
    "container field": (
        "Service",
        lambda d: _container(d).update(imagePullPolcy="Always"),
        "imagePullPolcy",
    ),
    "probe field": (
        "Service",
        lambda d: _container(d)["readinessProbe"].update(periodSecond=5),
        "periodSecond",
    ),
    "trigger delivery field": (
        "Trigger",
        lambda d: d["spec"]["delivery"].update(timout=d["spec"]["delivery"].pop("timeout")),
        "timout",
    ),
    "trigger filter dialect": (
        "Trigger",
        lambda d: d["spec"].update(filters=[{"exactly": {"type": "x"}}]),
        "exactly",
    ),
    "subscriber field": (
        "Trigger",
        lambda d: d["spec"]["subscriber"].update(audiance="x"),
        "audiance",
    ),
    "sink binding field": (
        "SinkBinding",
        lambda d: d["spec"].update(subjects=d["spec"].pop("subject")),
        "subjects",
    ),
    "container source field": (
        "ContainerSource",
        lambda d: d["spec"]["sink"].update(audeince="x"),
        "audeince",
    ),
    "deployment field": ("Deployment", lambda d: d["spec"].update(replica=2), "replica"),
    "job field": ("Job", lambda d: d["spec"].update(backofLimit=2), "backofLimit"),
    "config map field": ("ConfigMap", lambda d: d.update(dat={}), "dat"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_a_misspelt_field_fails(case: str) -> None:
    kind, spoil, field = MISTAKES[case]
    doc = _first(kind)
    spoil(doc)
    problems = validate([(case, doc)])
    assert problems, case
    assert any(field in p["problem"] for p in problems), problems


def test_a_wrong_type_fails_the_schema() -> None:
    doc = _first("Trigger")
    doc["spec"]["delivery"]["retry"] = "five"
    problems = validate([("retry", doc)])
    assert any(p["problem"].startswith("schema:") and "retry" in p["problem"] for p in problems)


def test_a_kind_without_an_upstream_schema_is_not_passed_silently() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    (problem,) = validate([("widget", doc)])
    assert problem["problem"] == "no upstream schema for this apiVersion and kind"
