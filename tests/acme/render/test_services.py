"""The Knative Service of each function says what its stack.yml entry says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests import REPO

from acme.render import RenderError, render_knative
from acme.render._services import knative_service
from acme.runtime.stackfile import Stack, load_stack

STACK = load_stack(REPO / "stack.yml")


def _service(name: str, stack: Stack = STACK) -> dict[str, Any]:
    return knative_service(name, stack.functions[name])


def _gpu_functions() -> list[str]:
    return [n for n, f in STACK.functions.items() if f.limits is not None and f.limits.gpu]


def test_gpu_functions_scale_to_zero_have_a_gpu_and_time_to_start() -> None:
    assert {"infer-cxr", "infer-ct"} <= set(_gpu_functions())
    for name in _gpu_functions():
        template = _service(name)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["autoscaling.knative.dev/min-scale"] == "0", name
        assert annotations["autoscaling.knative.dev/scale-down-delay"] == "5m", name
        assert annotations["serving.knative.dev/progress-deadline"] == "1200s", name
        limits = template["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1", name


def test_an_always_on_function_keeps_its_minimum_and_the_default_deadline() -> None:
    annotations = _service("dicom-ingest")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/min-scale"] == "1"
    assert annotations["autoscaling.knative.dev/max-scale"] == "4"
    assert "autoscaling.knative.dev/scale-down-delay" not in annotations
    assert annotations["serving.knative.dev/progress-deadline"] == "600s"


def test_concurrency_timeout_entry_point_and_settings() -> None:
    spec = _service("infer-cxr")["spec"]["template"]["spec"]
    assert spec["containerConcurrency"] == 2
    assert spec["timeoutSeconds"] == 300  # its trigger's 5m
    (container,) = spec["containers"]
    assert container["args"] == ["--target", "handler", "--signature-type", "cloudevent"]
    assert container["envFrom"] == [
        {"configMapRef": {"name": "acme-config"}},
        {"configMapRef": {"name": "acme-events"}},
        {"secretRef": {"name": "acme-secrets"}},
    ]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["THREADS"] == "2"
    assert container["readinessProbe"]["tcpSocket"] == {"port": 8080}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 8080}
    assert container["securityContext"]["runAsNonRoot"] is True
    report_events = _service("report-events")["spec"]["template"]["spec"]
    assert report_events["timeoutSeconds"] == 120
    assert (
        report_events["containers"][0]["image"]
        == _service("report")["spec"]["template"]["spec"]["containers"][0]["image"]
    )


def test_container_concurrency_covers_the_busiest_trigger(tmp_path: Path) -> None:
    text = (
        (REPO / "stack.yml")
        .read_text()
        .replace(
            'com.acme.trigger.objects.concurrency: "8"',
            'com.acme.trigger.objects.concurrency: "16"',
        )
    )
    (tmp_path / "stack.yml").write_text(text)
    stack = load_stack(tmp_path / "stack.yml")
    spec = _service("dicom-ingest", stack)["spec"]["template"]["spec"]
    assert spec["containerConcurrency"] == 16
    env = {item["name"]: item["value"] for item in spec["containers"][0]["env"]}
    assert env["THREADS"] == "16"
    assert _service("dicom-ingest")["spec"]["template"]["spec"]["containerConcurrency"] == 8


def test_event_only_functions_are_cluster_local_and_http_ones_reachable() -> None:
    for name, function in STACK.functions.items():
        labels = _service(name)["metadata"]["labels"]
        local = labels.get("networking.knative.dev/visibility") == "cluster-local"
        assert local == (function.signature == "cloudevent"), name
    api = _service("report")["spec"]["template"]["spec"]
    assert api["timeoutSeconds"] == 300
    assert api["containers"][0]["readinessProbe"]["httpGet"] == {
        "path": "/openapi.json",
        "port": 8080,
    }
    assert api["containers"][0]["args"][:2] == ["--target", "api"]


def test_a_trigger_timeout_knative_cannot_serve_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "stack.yml").read_text())
    infer = document["functions"]["infer-cxr"]
    infer["annotations"]["com.acme.trigger.series.timeout"] = "15m"
    infer["handler"] = "./infer-cxr"
    document["functions"] = {"infer-cxr": infer}
    (tmp_path / "infer-cxr").mkdir()
    (tmp_path / "infer-cxr" / "main.py").write_text("")
    path = tmp_path / "stack.yml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(RenderError, match=r"com\.acme\.trigger\.series\.timeout: at most 600s"):
        render_knative(load_stack(path))
