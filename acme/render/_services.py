"""One Knative Service per function of stack.yml; what each field comes from:

- image and ``args`` (``--target``, ``--signature-type``): ``image``, ``com.acme.target``,
  ``com.acme.signature``;
- ``autoscaling.knative.dev/min-scale``: ``0`` when ``com.openfaas.scale.zero``, else
  ``com.openfaas.scale.min``; ``max-scale``: ``com.openfaas.scale.max``;
- ``scale-to-zero-pod-retention-period`` (scale-to-zero functions) and ``scale-down-delay``
  (GPU functions, which keep their model loaded meanwhile): ``com.openfaas.scale.zero-duration``;
- ``serving.knative.dev/progress-deadline``: 600 s, 1200 s for GPU functions (a large image
  and perhaps a GPU node to add);
- ``containerConcurrency`` and functions-framework's ``THREADS``: ``com.acme.concurrency``,
  raised to the largest ``com.acme.trigger.<name>.concurrency`` (the deliveries of a trigger
  the local router keeps in flight; in the cluster the broker sends as they come and the
  replica's queue-proxy holds what is over this limit);
- ``timeoutSeconds``: the longest trigger ``timeout``; HTTP functions the gateway's 300 s;
- ``resources``: ``limits`` (``nvidia.com/gpu`` among them) and ``requests``;
- ``env``: ``environment``, after ``envFrom`` the shared ConfigMaps and Secret;
- label ``networking.knative.dev/visibility: cluster-local``: ``com.acme.signature:
  cloudevent`` (a function that only takes events is not reachable from outside).
"""

from __future__ import annotations

from typing import Final

from acme.render._durations import go_duration, whole_seconds
from acme.render._options import Names, RenderError
from acme.render._pods import (
    ENV_FROM,
    JWKS_MOUNT,
    TMP_MOUNT,
    env_list,
    jwks_volume,
    labels,
    security_context,
    tmp_volume,
)
from acme.render._yaml import Manifest
from acme.runtime.stackfile import FunctionSpec, Resources
from acme.settings import Settings

__all__ = ["PORT", "is_gpu", "knative_service"]

PORT: Final = 8080
PROGRESS_DEADLINE: Final = 600
GPU_PROGRESS_DEADLINE: Final = 1200
MAX_TIMEOUT: Final = 600
"""Knative Serving's default ``max-revision-timeout-seconds``."""
MAX_SCALE_DOWN_DELAY: Final = 3600
"""Knative's upper bound for ``scale-down-delay``."""
HTTP_TIMEOUT: Final = whole_seconds(Settings.model_fields["function_timeout"].default)


def is_gpu(spec: FunctionSpec) -> bool:
    return bool(spec.limits is not None and spec.limits.gpu)


def knative_service(name: str, spec: FunctionSpec) -> Manifest:
    """The Knative Service running function ``name`` of stack.yml."""
    service_labels = labels(name, "function")
    if spec.signature == "cloudevent":
        service_labels["networking.knative.dev/visibility"] = "cluster-local"
    if is_gpu(spec):
        service_labels[Names.GPU_LABEL] = "true"
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": service_labels},
        "spec": {
            "template": {
                "metadata": {"labels": labels(name, "function"), "annotations": _scaling(spec)},
                "spec": {
                    "containerConcurrency": spec.container_concurrency,
                    "timeoutSeconds": _timeout(name, spec),
                    "containers": [_container(spec)],
                    "volumes": [jwks_volume(), tmp_volume()],
                },
            }
        },
    }


def _scaling(spec: FunctionSpec) -> dict[str, str]:
    labels_ = spec.labels
    idle = min(whole_seconds(labels_.zero_duration), MAX_SCALE_DOWN_DELAY)
    annotations = {
        "autoscaling.knative.dev/min-scale": "0" if spec.scale_to_zero else str(labels_.scale_min),
        "autoscaling.knative.dev/max-scale": str(labels_.scale_max),
    }
    if spec.scale_to_zero:
        annotations["autoscaling.knative.dev/scale-to-zero-pod-retention-period"] = go_duration(
            idle
        )
    if is_gpu(spec):
        annotations["autoscaling.knative.dev/scale-down-delay"] = go_duration(idle)
    deadline = GPU_PROGRESS_DEADLINE if is_gpu(spec) else PROGRESS_DEADLINE
    annotations["serving.knative.dev/progress-deadline"] = f"{deadline}s"
    return annotations


def _timeout(name: str, spec: FunctionSpec) -> int:
    if not spec.triggers:
        return HTTP_TIMEOUT
    longest = max(spec.triggers, key=lambda t: t.timeout)
    seconds = whole_seconds(longest.timeout)
    if seconds > MAX_TIMEOUT:
        raise RenderError(
            f"functions.{name}.annotations.com.acme.trigger.{longest.name}.timeout: at most "
            f"{MAX_TIMEOUT}s (Knative Serving's max-revision-timeout-seconds), got {seconds}s"
        )
    return seconds


def _container(spec: FunctionSpec) -> Manifest:
    env = {**spec.environment, "THREADS": str(spec.container_concurrency)}
    tcp = {"tcpSocket": {"port": PORT}}
    http = {"httpGet": {"path": "/openapi.json", "port": PORT}}
    ready = http if spec.signature == "http" else tcp  # HTTP: answers once its clients are up
    container: Manifest = {
        "name": "function",
        "image": spec.image,
        "args": ["--target", spec.annotations.target, "--signature-type", spec.signature],
        "ports": [{"name": "http1", "containerPort": PORT}],
        "envFrom": ENV_FROM,
        "env": env_list(env),
    }
    resources = {
        kind: quantities
        for kind, given in (("limits", spec.limits), ("requests", spec.requests))
        if (quantities := _quantities(given))
    }
    if resources:
        container["resources"] = resources
    container |= {
        "readinessProbe": {**ready, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**tcp, "periodSeconds": 10, "failureThreshold": 6},
        "securityContext": security_context(),
        "volumeMounts": [JWKS_MOUNT, TMP_MOUNT],
    }
    return container


def _quantities(resources: Resources | None) -> dict[str, str]:
    if resources is None:
        return {}
    values = {"cpu": resources.cpu, "memory": resources.memory}
    if resources.gpu:
        values["nvidia.com/gpu"] = str(resources.gpu)
    return {key: value for key, value in values.items() if value is not None}
