"""Knative Eventing: the NatsJetStreamBroker, one Trigger per stack.yml trigger, SinkBindings,
the tick ContainerSource and the dead-letter Broker.

A trigger ``com.acme.trigger.<t>`` of function ``<f>`` becomes Trigger ``<f>-<t>``:

- ``filters``: ``type=X`` is ``exact: {type: X}``, ``type=X*`` is ``prefix: {type: X}``,
  ``type=*`` no filter (every event), ``<attribute>=<v>`` is ``exact: {<attribute>: <v>}``;
  the list entries must all match, as in stack.yml;
- ``subscriber.audience``: ``acme/functions/<f>`` (or the function's ``ACME_EVENTS_AUDIENCE``);
- ``delivery``: ``retry`` from ``.retry``, ``backoffPolicy: exponential`` with ``backoffDelay``
  from ``.backoff`` and ``timeout`` from ``.timeout`` (ISO-8601), ``deadLetterSink`` the
  dead-letter Broker, whose JetStream stream keeps what could not be delivered.
"""

from __future__ import annotations

from typing import Any

from acme.auth._delivery import AUDIENCE_PREFIX
from acme.render._durations import iso8601
from acme.render._options import ClusterOptions, Names
from acme.render._pods import (
    ENV_FROM,
    JWKS_MOUNT,
    TMP_MOUNT,
    jwks_volume,
    labels,
    security_context,
    tmp_volume,
)
from acme.render._yaml import Manifest
from acme.runtime.stackfile import FunctionSpec, Trigger

__all__ = ["BROKER_CLASS", "brokers", "sink_binding", "tick_source", "triggers"]

BROKER_CLASS = "NatsJetStreamBroker"


def _broker_ref(name: str) -> Manifest:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": name}


def brokers(options: ClusterOptions) -> list[Manifest]:
    """The broker functions publish to, and the one that keeps dead letters."""
    return [
        {
            "apiVersion": "eventing.knative.dev/v1",
            "kind": "Broker",
            "metadata": {
                "name": name,
                "labels": labels(name, component),
                "annotations": {"eventing.knative.dev/broker.class": BROKER_CLASS},
            },
        }
        for name, component in (
            (options.broker, "broker"),
            (options.dead_letter_broker, "dead-letters"),
        )
    ]


def _filters(trigger: Trigger) -> list[Manifest]:
    filters: list[Manifest] = []
    for wanted in trigger.filters:
        if wanted.prefix and not wanted.value:
            continue  # type=*: every event
        dialect = "prefix" if wanted.prefix else "exact"
        filters.append({dialect: {wanted.attribute: wanted.value}})
    return filters


def triggers(name: str, spec: FunctionSpec, options: ClusterOptions) -> list[Manifest]:
    """The Triggers of function ``name``, in stack.yml order."""
    audience = spec.environment.get("ACME_EVENTS_AUDIENCE") or f"{AUDIENCE_PREFIX}{name}"
    out = []
    for trigger in spec.triggers:
        body: dict[str, Any] = {"broker": options.broker}
        if filters := _filters(trigger):
            body["filters"] = filters
        body["subscriber"] = {
            "ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": name},
            "audience": audience,
        }
        body["delivery"] = {
            "retry": trigger.retry,
            "backoffPolicy": "exponential",
            "backoffDelay": iso8601(trigger.backoff),
            "timeout": iso8601(trigger.timeout),
            "deadLetterSink": {"ref": _broker_ref(options.dead_letter_broker)},
        }
        trigger_name = f"{name}-{trigger.name}"
        out.append(
            {
                "apiVersion": "eventing.knative.dev/v1",
                "kind": "Trigger",
                "metadata": {"name": trigger_name, "labels": labels(name, "trigger")},
                "spec": body,
            }
        )
    return out


def _sink(options: ClusterOptions) -> Manifest:
    return {"ref": _broker_ref(options.broker), "audience": options.broker_audience}


def sink_binding(name: str, subject_kind: tuple[str, str], options: ClusterOptions) -> Manifest:
    """K_SINK (and the /oidc/token for the broker's audience) for one publisher."""
    api_version, kind = subject_kind
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "SinkBinding",
        "metadata": {"name": f"{name}-publishes", "labels": labels(name, "sink-binding")},
        "spec": {
            "subject": {"apiVersion": api_version, "kind": kind, "name": name},
            "sink": _sink(options),
        },
    }


def tick_source(options: ClusterOptions) -> Manifest:
    """``org.acme.imaging.tick`` every ACME_TICK_SECONDS (PingSource's cron stops at 1 min)."""
    container: Manifest = {
        "name": "tick",
        "image": options.platform_image,
        "command": ["python", "-m", "acme.runtime.tick"],
        "envFrom": ENV_FROM,
        "resources": {
            "requests": {"cpu": "10m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "256Mi"},
        },
        "securityContext": security_context(),
        "volumeMounts": [JWKS_MOUNT, TMP_MOUNT],
    }
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "ContainerSource",
        "metadata": {"name": Names.TICK, "labels": labels(Names.TICK, "tick")},
        "spec": {
            "template": {
                "metadata": {"labels": labels(Names.TICK, "tick")},
                "spec": {"containers": [container], "volumes": [jwks_volume(), tmp_volume()]},
            },
            "sink": _sink(options),
        },
    }
