"""``infra/knative/``: every file ``acme render knative`` writes, and how it is laid out.

::

    kustomization.yaml              the deployment: base + router (authenticated deliveries)
    base/                           Namespace, settings, one Knative Service per function,
                                    the bucket-events adapter, the bootstrap Job
    router/                         delivery by the platform's router (signs every delivery)
    eventing/                       delivery by Knative Eventing: NatsJetStreamBroker,
                                    Triggers, SinkBindings, tick ContainerSource
    components/gpu/                 node selection and tolerations of the GPU functions
    overlays/gpu/                   the deployment on GPU nodes
    overlays/natss-broker/          base + eventing (docs/decisions/0070-cluster-delivery.md)

Functions whose handler folder has no ``main.py`` yet are left out (and listed), so the set
grows as functions arrive: a test fails when the committed files are stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from acme.render._eventing import brokers, sink_binding, tick_source, triggers
from acme.render._options import ClusterOptions, Names
from acme.render._platform import (
    bootstrap_job,
    broker_events_config,
    bucket_events,
    namespace,
    platform_config,
    router,
    router_events_config,
    tick_deployment,
)
from acme.render._services import knative_service
from acme.render._yaml import Manifest, dump
from acme.runtime.stackfile import Stack

__all__ = ["Rendered", "differences", "render_knative", "write"]

_KUSTOMIZE = "kustomize.config.k8s.io/v1beta1"
_GPU_PATCH = """\
- op: add
  path: /spec/template/spec/nodeSelector
  value:
    nvidia.com/gpu.present: "true"
- op: add
  path: /spec/template/spec/tolerations
  value:
    - key: nvidia.com/gpu
      operator: Exists
      effect: NoSchedule
"""


@dataclass(frozen=True)
class Rendered:
    """The files of ``infra/knative/`` (relative path -> text) and the functions left out."""

    files: Mapping[PurePosixPath, str]
    skipped: tuple[str, ...]


class _Tree:
    def __init__(self) -> None:
        self.files: dict[PurePosixPath, str] = {}

    def add(self, folder: str, name: str, documents: Sequence[Manifest], note: str = "") -> str:
        """Add ``folder/name``; returns ``name``, as the folder's kustomization lists it."""
        self.files[PurePosixPath(folder, name)] = dump(documents, note=note)
        return name

    def kustomization(self, folder: str, body: dict[str, Any], note: str = "") -> None:
        kind = body.pop("kind", "Kustomization")
        version = "kustomize.config.k8s.io/v1alpha1" if kind == "Component" else _KUSTOMIZE
        document = {"apiVersion": version, "kind": kind, **body}
        self.add(folder, "kustomization.yaml", [document], note)


def render_knative(stack: Stack, options: ClusterOptions | None = None) -> Rendered:
    """Every manifest of the cluster deployment of ``stack``."""
    options = options or ClusterOptions()
    missing = stack.missing()
    names = [name for name in stack.functions if name not in missing]
    tree = _Tree()
    base = [
        tree.add("base", "namespace.yaml", [namespace(options)]),
        tree.add(
            "base",
            "config.yaml",
            [platform_config()],
            note="Settings of every container. Site values (servers, the OIDC provider) are\n"
            "defaults for the layout of docs/deploy.md: change them in an overlay.",
        ),
    ]
    for name in names:
        manifest = knative_service(name, stack.functions[name])
        base.append(tree.add("base", f"functions/{name}.yaml", [manifest]))
    base.append(tree.add("base", "bucket-events.yaml", [bucket_events(options)]))
    base.append(tree.add("base", "bootstrap.yaml", [bootstrap_job(options)]))
    tree.kustomization("base", {"resources": base})

    delivered = [name for name in names if stack.functions[name].triggers]
    tree.kustomization(
        "router",
        {
            "resources": [
                tree.add("router", "events.yaml", [router_events_config()]),
                tree.add("router", "router.yaml", [router(options, delivered)]),
                tree.add("router", "tick.yaml", [tick_deployment(options)]),
            ]
        },
    )

    eventing = [
        tree.add(
            "eventing",
            "events.yaml",
            [broker_events_config(options)],
            note="ACME_EVENTS_ISSUER must be the cluster's service-account issuer:\n"
            "kubectl get --raw /.well-known/openid-configuration (field issuer).",
        ),
        tree.add("eventing", "brokers.yaml", brokers(options)),
    ]
    for name in delivered:
        spec = stack.functions[name]
        eventing.append(
            tree.add("eventing", f"triggers/{name}.yaml", triggers(name, spec, options))
        )
    service = ("serving.knative.dev/v1", "Service")
    bindings = [sink_binding(name, service, options) for name in names]
    bindings.append(sink_binding(Names.BUCKET_EVENTS, ("apps/v1", "Deployment"), options))
    eventing.append(tree.add("eventing", "sink-bindings.yaml", bindings))
    eventing.append(tree.add("eventing", "tick-source.yaml", [tick_source(options)]))
    tree.kustomization("eventing", {"resources": eventing})

    tree.kustomization(
        "",
        {"namespace": options.namespace, "resources": ["base", "router"]},
        note="The deployment: every function, deliveries by the platform's router.\n"
        "kubectl apply -k infra/knative   (docs/deploy.md)",
    )
    tree.kustomization(
        "components/gpu",
        {
            "kind": "Component",
            "patches": [
                {
                    "target": {
                        "group": "serving.knative.dev",
                        "version": "v1",
                        "kind": "Service",
                        "labelSelector": f"{Names.GPU_LABEL}=true",
                    },
                    "patch": _GPU_PATCH,
                }
            ],
        },
        note="GPU functions on GPU nodes: needs Knative Serving's kubernetes.podspec-nodeselector\n"
        "and kubernetes.podspec-tolerations features enabled (docs/deploy.md).",
    )
    tree.kustomization(
        "overlays/gpu",
        {
            "namespace": options.namespace,
            "resources": ["../../base", "../../router"],
            "components": ["../../components/gpu"],
        },
        note="The deployment with the GPU functions on nodes labelled nvidia.com/gpu.present.",
    )
    tree.kustomization(
        "overlays/natss-broker",
        {"namespace": options.namespace, "resources": ["../../base", "../../eventing"]},
        note="Deliveries by Knative Eventing's NatsJetStreamBroker instead of the router.\n"
        "That broker (knative-v1.22) sends no sender-identity tokens: every function refuses\n"
        "its deliveries (401) until the broker class sends them (docs/decisions/0070).",
    )
    return Rendered(files=dict(sorted(tree.files.items())), skipped=tuple(sorted(missing)))


def differences(rendered: Rendered, out: Path) -> list[str]:
    """Paths under ``out`` that differ from ``rendered``: stale, missing or not generated."""
    found = {PurePosixPath(p.relative_to(out).as_posix()) for p in out.rglob("*.yaml")}
    problems = []
    for path, text in rendered.files.items():
        target = out / path
        if not target.is_file():
            problems.append(f"{path}: missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: stale")
    problems += [f"{path}: not generated" for path in sorted(found - set(rendered.files))]
    return problems


def write(rendered: Rendered, out: Path) -> list[PurePosixPath]:
    """Write ``rendered`` under ``out`` (removing YAML files it no longer has); what changed."""
    changed = []
    for path in {PurePosixPath(p.relative_to(out).as_posix()) for p in out.rglob("*.yaml")}:
        if path not in rendered.files:
            (out / path).unlink()
            changed.append(path)
    for path, text in rendered.files.items():
        target = out / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(path)
    return sorted(changed)
