"""The platform's own objects: settings, bucket-events adapter, bootstrap Job, router, tick."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from acme.render._options import ClusterOptions, Names
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

__all__ = [
    "ROUTER_ISSUER",
    "ROUTER_PORT",
    "bootstrap_job",
    "broker_events_config",
    "bucket_events",
    "namespace",
    "platform_config",
    "router",
    "router_events_config",
    "tick_deployment",
]

ROUTER_PORT: Final = 9090
ROUTER_ISSUER: Final = "acme-router"
"""``iss`` of the cluster router's delivery tokens (not the laptop's ``acme-local-events``)."""

SITE_SETTINGS: Final = {
    "ACME_NATS_URL": "nats://nats.nats.svc.cluster.local:4222",
    "ACME_S3_URL": "http://minio.minio.svc.cluster.local:9000",
    "ACME_S3_REGION": "us-east-1",
    "ACME_REDIS_URL": "redis://redis-master.redis.svc.cluster.local:6379/0",
    "ACME_BUCKET_EVENTS_TRANSPORT": "minio",
    "ACME_MINIO_SUBJECT": "minio.bucket-events",
    "ACME_AUTH_ISSUER": "https://sso.hospital.example/realms/radiology",
    "ACME_AUTH_AUDIENCE": "acme-imaging",
    "ACME_AUTH_JWKS_URL": (
        "https://sso.hospital.example/realms/radiology/protocol/openid-connect/certs"
    ),
    "ACME_AUTH_ROLES_CLAIM": "realm_access.roles",
    "ACME_TRUSTED_PROXIES": "127.0.0.1/32",
    "ACME_EVENTS_JWKS_FILE": f"{Names.JWKS_DIR}/events-jwks.json",
    "ACME_HOME": "/tmp/acme",
    "ACME_LOG_FORMAT": "json",
    "ACME_LOG_LEVEL": "INFO",
}
"""Defaults for a cluster laid out as docs/deploy.md installs it; a site overlay changes them."""


def namespace(options: ClusterOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": options.namespace, "labels": {"app.kubernetes.io/part-of": "acme"}},
    }


def _config_map(name: str, data: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": Names.PART_OF}},
        "data": data,
    }


def platform_config() -> Manifest:
    return _config_map(Names.CONFIG, dict(SITE_SETTINGS))


def router_events_config() -> Manifest:
    """Functions accept only the cluster router's tokens."""
    return _config_map(
        Names.EVENTS, {"ACME_EVENTS_ISSUER": ROUTER_ISSUER, "ACME_EVENTS_SUBJECTS": Names.ROUTER}
    )


def broker_events_config(options: ClusterOptions) -> Manifest:
    """Functions accept the cluster's service-account tokens of this namespace's senders."""
    return _config_map(
        Names.EVENTS,
        {
            "ACME_EVENTS_ISSUER": "https://kubernetes.default.svc.cluster.local",
            "ACME_EVENTS_SUBJECTS": f"system:serviceaccount:{options.namespace}:*",
            "ACME_EVENTS_TOKEN_FILE": "/oidc/token",
            "ACME_EVENTS_SINK_AUDIENCE": options.broker_audience,
        },
    )


def _pod(
    name: str,
    options: ClusterOptions,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    extra_mounts: Iterable[Manifest] = (),
    extra_volumes: Iterable[Manifest] = (),
    ports: list[Manifest] | None = None,
    probe: Manifest | None = None,
    restart: str | None = None,
) -> dict[str, Any]:
    container: Manifest = {
        "name": name,
        "image": options.platform_image,
        "command": command,
        "envFrom": ENV_FROM,
    }
    if env:
        container["env"] = env_list(env)
    if ports:
        container["ports"] = ports
    if probe:
        container["livenessProbe"] = probe
    container |= {
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "securityContext": security_context(),
        "volumeMounts": [JWKS_MOUNT, TMP_MOUNT, *extra_mounts],
    }
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [jwks_volume(), tmp_volume(), *extra_volumes],
    }
    if restart:
        spec["restartPolicy"] = restart
    return spec


def _deployment(name: str, component: str, replicas: int, pod: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name, component)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": labels(name, component)}, "spec": pod},
        },
    }


def bucket_events(options: ClusterOptions) -> Manifest:
    """MinIO's notifications (NATS JetStream) -> CloudEvents, published to the bus or K_SINK."""
    command = ["python", "-m", "acme.runtime.bucket_events"]
    return _deployment(
        Names.BUCKET_EVENTS, "bucket-events", 1, _pod(Names.BUCKET_EVENTS, options, command)
    )


def bootstrap_job(options: ClusterOptions) -> Manifest:
    """Buckets, the event stream, the schema migrations and the bundled models (idempotent)."""
    pod = _pod(Names.BOOTSTRAP, options, ["acme", "bootstrap"], restart="OnFailure")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": Names.BOOTSTRAP, "labels": labels(Names.BOOTSTRAP, "bootstrap")},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": labels(Names.BOOTSTRAP, "bootstrap")}, "spec": pod},
        },
    }


def router(options: ClusterOptions, functions: Iterable[str]) -> Manifest:
    """The platform's router: JetStream -> functions, each delivery signed for its audience."""
    env = {
        "ACME_FUNCTIONS": ",".join(functions),
        "ACME_ROUTER_FUNCTION_URL": options.function_url(),
        "ACME_ROUTER_PORT": str(ROUTER_PORT),
        "ACME_EVENTS_SIGNING_KEY": f"{Names.KEY_DIR}/events-key.json",
    }
    key_mount = {"name": "delivery-key", "mountPath": Names.KEY_DIR, "readOnly": True}
    key_volume = {"name": "delivery-key", "secret": {"secretName": Names.DELIVERY_KEY}}
    pod = _pod(
        Names.ROUTER,
        options,
        ["python", "-m", "acme.runtime.cluster_router"],
        env=env,
        extra_mounts=[key_mount],
        extra_volumes=[key_volume],
        ports=[{"name": "metrics", "containerPort": ROUTER_PORT}],
        probe={"httpGet": {"path": "/healthz", "port": ROUTER_PORT}, "periodSeconds": 10},
    )
    return _deployment(Names.ROUTER, "router", 1, pod)


def tick_deployment(options: ClusterOptions) -> Manifest:
    """The tick source publishing to JetStream (two replicas would tick once: same ids)."""
    pod = _pod(Names.TICK, options, ["python", "-m", "acme.runtime.tick"])
    return _deployment(Names.TICK, "tick", 1, pod)
