"""Eventing: one Trigger per stack.yml trigger, SinkBindings, the tick source, the brokers."""

from __future__ import annotations

from typing import Any

from manifests import INFRA, REPO, documents

from acme.render import ClusterOptions
from acme.render._eventing import brokers, sink_binding, tick_source, triggers
from acme.runtime.stackfile import load_stack

STACK = load_stack(REPO / "stack.yml")
OPTIONS = ClusterOptions()


def _triggers(name: str) -> dict[str, dict[str, Any]]:
    return {
        t["metadata"]["name"]: t["spec"] for t in triggers(name, STACK.functions[name], OPTIONS)
    }


def test_filters_delivery_and_audience_follow_the_stack_file() -> None:
    ingest = _triggers("dicom-ingest")
    assert set(ingest) == {"dicom-ingest-objects", "dicom-ingest-tick"}
    objects = ingest["dicom-ingest-objects"]
    assert objects["filters"] == [{"prefix": {"type": "com.amazonaws.s3.ObjectCreated:"}}]
    assert objects["delivery"] == {
        "retry": 5,
        "backoffPolicy": "exponential",
        "backoffDelay": "PT1S",
        "timeout": "PT2M",
        "deadLetterSink": {
            "ref": {
                "apiVersion": "eventing.knative.dev/v1",
                "kind": "Broker",
                "name": "dead-letters",
            }
        },
    }
    assert objects["subscriber"] == {
        "ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "dicom-ingest"},
        "audience": "acme/functions/dicom-ingest",
    }
    (series,) = _triggers("infer-cxr").values()
    assert series["filters"] == [
        {"exact": {"type": "org.acme.imaging.series.completed"}},
        {"exact": {"pipeline": "cxr"}},
    ]
    assert series["delivery"]["backoffDelay"] == "PT5S"
    assert series["delivery"]["timeout"] == "PT5M"
    (every,) = _triggers("audit-events").values()
    assert "filters" not in every  # type=*: every event
    assert every["delivery"]["timeout"] == "PT30S"


def test_every_stack_trigger_has_its_trigger_and_nothing_else_does() -> None:
    committed = {
        doc["metadata"]["name"]
        for path in (INFRA / "eventing" / "triggers").glob("*.yaml")
        for doc in documents(path)
    }
    expected = {
        f"{name}-{trigger.name}"
        for name, function in STACK.functions.items()
        if name not in STACK.missing()
        for trigger in function.triggers
    }
    assert committed == expected


def test_publishers_are_bound_to_the_broker_with_its_audience() -> None:
    binding = sink_binding("report", ("serving.knative.dev/v1", "Service"), OPTIONS)
    assert binding["spec"]["subject"] == {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "name": "report",
    }
    assert binding["spec"]["sink"] == {
        "ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "default"},
        "audience": "eventing.knative.dev/broker/acme/default",
    }
    bound = {
        doc["spec"]["subject"]["name"]
        for doc in documents(INFRA / "eventing" / "sink-bindings.yaml")
    }
    assert bound == {n for n in STACK.functions if n not in STACK.missing()} | {
        "acme-bucket-events"
    }


def test_the_tick_is_a_container_source_and_the_brokers_are_nats_jetstream() -> None:
    tick = tick_source(OPTIONS)
    container = tick["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "acme.runtime.tick"]
    assert tick["spec"]["sink"]["audience"] == OPTIONS.broker_audience
    classes = {
        b["metadata"]["name"]: b["metadata"]["annotations"]["eventing.knative.dev/broker.class"]
        for b in brokers(OPTIONS)
    }
    assert classes == {"default": "NatsJetStreamBroker", "dead-letters": "NatsJetStreamBroker"}
    events = documents(INFRA / "eventing" / "events.yaml")[0]["data"]
    assert events["ACME_EVENTS_TOKEN_FILE"] == "/oidc/token"
    assert events["ACME_EVENTS_SUBJECTS"] == "system:serviceaccount:acme:*"


def test_the_router_path_signs_every_delivery_and_the_check_stays_on() -> None:
    router = documents(INFRA / "router" / "router.yaml")[0]
    pod = router["spec"]["template"]["spec"]
    env = {item["name"]: item["value"] for item in pod["containers"][0]["env"]}
    assert env["ACME_ROUTER_FUNCTION_URL"] == "http://{name}.acme.svc.cluster.local"
    routed = {n for n, f in STACK.functions.items() if f.triggers and n not in STACK.missing()}
    assert set(env["ACME_FUNCTIONS"].split(",")) == routed
    assert {"name": "delivery-key", "secret": {"secretName": "acme-delivery-key"}} in pod["volumes"]
    events = documents(INFRA / "router" / "events.yaml")[0]["data"]
    assert events == {"ACME_EVENTS_ISSUER": "acme-router", "ACME_EVENTS_SUBJECTS": "acme-router"}
    for path in INFRA.rglob("*.yaml"):  # nothing generated turns the delivery check off
        text = path.read_text()
        assert "ACME_EVENTS_AUDIENCE" not in text and "acme-local-events" not in text, path
