"""stack.yml: the real one loads; every mistake names the function and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from acme.runtime.app import router_triggers
from acme.runtime.stackfile import StackFileError, load_stack, parse_duration

ROOT = Path(__file__).resolve().parents[3]
TEST_STACK = ROOT / "tests" / "fixtures" / "functions" / "stack.yml"

GOOD_FUNCTION = {
    "lang": "python3-functions-framework",
    "handler": "./functions/infer-cxr",
    "image": "ghcr.io/acme-imaging/infer-cxr:0.1.0",
    "labels": {"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "5m"},
    "annotations": {
        "com.acme.signature": "cloudevent",
        "com.acme.trigger.series": "type=org.acme.imaging.series.completed,pipeline=cxr",
    },
}


def _write(tmp_path: Path, function: dict[str, object], name: str = "infer-cxr") -> Path:
    path = tmp_path / "stack.yml"
    document = {"version": 1.0, "provider": {"name": "openfaas"}, "functions": {name: function}}
    path.write_text(yaml.safe_dump(document))
    return path


def _with(section: str, **values: object) -> dict[str, object]:
    function = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD_FUNCTION.items()}
    target = function.setdefault(section, {})
    assert isinstance(target, dict)
    target.update(values)
    return function


def test_the_real_stack_file_loads_with_every_platform_function() -> None:
    stack = load_stack(ROOT / "stack.yml")
    functions = stack.functions
    assert {"dicom-ingest", "infer-cxr", "infer-ct", "report", "audit", "worklist"} <= set(
        functions
    )
    ingest = functions["dicom-ingest"]
    assert ingest.signature == "cloudevent" and not ingest.scale_to_zero
    assert {t.event_type for t in ingest.triggers} == {
        "com.amazonaws.s3.ObjectCreated:*",
        "org.acme.imaging.tick",
    }
    objects = next(t for t in ingest.triggers if t.name == "objects")
    assert objects.matches({"type": "com.amazonaws.s3.ObjectCreated:Put"})
    assert not objects.matches({"type": "com.amazonaws.s3.ObjectRemoved:Delete"})
    for name, pipelines in (("infer-cxr", {"cxr"}), ("infer-ct", {"ct", "ct-qa"})):
        spec = functions[name]
        assert spec.scale_to_zero and spec.labels.zero_duration == 300
        assert spec.limits is not None and spec.limits.gpu == 1
        completed = {"type": "org.acme.imaging.series.completed"}
        for pipeline in ("cxr", "ct", "ct-qa", "none"):
            taken = any(t.matches({**completed, "pipeline": pipeline}) for t in spec.triggers)
            assert taken == (pipeline in pipelines), (name, pipeline)
    assert functions["report"].signature == "http"
    assert functions["report-events"].signature == "cloudevent"
    assert stack.source("report") == stack.source("report-events") == ROOT / "functions" / "report"
    assert functions["worklist"].signature == "http"
    assert all(t.event_type != "org.acme.imaging.tick" for t in functions["audit-events"].triggers)


def test_the_nats_connector_topics_cover_every_trigger() -> None:
    """OpenFaaS's nats-connector needs ``topic``: it must list each trigger's subject."""
    stack = load_stack(ROOT / "stack.yml")
    for name, spec in stack.functions.items():
        for trigger in spec.triggers:
            subject = "acme.events." + trigger.event_type.replace("*", "Put")
            assert any(_subject_matches(topic, subject) for topic in spec.annotations.topic), (
                name,
                trigger.name,
            )


def _subject_matches(pattern: str, subject: str) -> bool:
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


def test_the_real_triggers_become_router_triggers() -> None:
    stack = load_stack(ROOT / "stack.yml")
    triggers = {(t.function, t.type): t for t in router_triggers(stack, stack.functions)}
    cxr = triggers[("infer-cxr", "org.acme.imaging.series.completed")]
    assert cxr.filters == {"pipeline": "cxr"}
    assert cxr.attempts == 4 and cxr.backoff_base == 5 and cxr.timeout == 300
    assert triggers[("dicom-ingest", "org.acme.imaging.tick")].attempts == 1
    assert triggers[("dicom-ingest", "org.acme.imaging.tick")].concurrency == 1
    assert triggers[("dicom-ingest", "com.amazonaws.s3.ObjectCreated:*")].concurrency == 8
    assert cxr.concurrency == 2  # infer-cxr's com.acme.concurrency: no trigger setting


def test_a_trigger_keeps_its_own_number_of_deliveries_in_flight(tmp_path: Path) -> None:
    function = _with(
        "annotations",
        **{
            "com.acme.concurrency": "3",
            "com.acme.trigger.series.concurrency": "12",
            "com.acme.trigger.qa": "type=org.acme.imaging.series.completed,pipeline=ct-qa",
        },
    )
    stack = load_stack(_write(tmp_path, function))
    spec = stack.functions["infer-cxr"]
    triggers = router_triggers(stack, ["infer-cxr"])
    in_flight = {t.filters["pipeline"]: t.concurrency for t in triggers}
    assert in_flight == {"cxr": 12, "ct-qa": 3}
    assert spec.container_concurrency == 12  # one replica can take the busiest trigger's


def test_concurrency_is_read_from_its_annotation_with_a_default(tmp_path: Path) -> None:
    given = load_stack(_write(tmp_path, _with("annotations", **{"com.acme.concurrency": 2})))
    assert given.functions["infer-cxr"].annotations.concurrency == 2
    default = load_stack(_write(tmp_path, GOOD_FUNCTION))
    assert default.functions["infer-cxr"].annotations.concurrency == 4


def test_the_test_stack_file_loads_with_its_handlers() -> None:
    stack = load_stack(TEST_STACK, require_handlers=True)
    assert stack.missing() == {}
    assert stack.functions["hello"].labels.zero_duration == 1.0


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (
            _with("labels", **{"com.openfaas.scale.zero-duration": "soon"}),
            "functions.infer-cxr.labels.com.openfaas.scale.zero-duration: "
            "expected a duration like 30s or 5m, got 'soon'",
        ),
        (
            _with("labels", **{"com.openfaas.scale.zero": "maybe"}),
            "functions.infer-cxr.labels.com.openfaas.scale.zero: Input should be a valid "
            "boolean, unable to interpret input, got 'maybe'",
        ),
        (
            _with("labels", **{"com.openfaas.scale.zeroduration": "5m"}),
            "functions.infer-cxr.labels.com.openfaas.scale.zeroduration: unknown scaling label",
        ),
        (
            _with("labels", **{"com.openfaas.scale.min": "3", "com.openfaas.scale.max": "2"}),
            "functions.infer-cxr.labels: com.openfaas.scale.min (3) is above "
            "com.openfaas.scale.max (2)",
        ),
        (
            _with("annotations", **{"com.acme.signature": "cloud-event"}),
            "functions.infer-cxr.annotations.com.acme.signature: Input should be 'cloudevent' "
            "or 'http', got 'cloud-event'",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series": "pipeline=cxr"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series: a trigger must filter on "
            "type=..., got 'pipeline=cxr'",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series": "type=a.b,pipeline"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series: expected attribute=value "
            "pairs",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series": "type=a.b,pipeline=c*"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series: '*' may only end the type",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series.retry": "many"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series.retry: Input should be a "
            "valid integer, unable to parse string as an integer, got 'many'",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series.backoff": "fast"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series.backoff: expected a "
            "duration like 30s or 5m, got 'fast'",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series.retries": "3"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series.retries: unknown key",
        ),
        (
            _with("annotations", **{"com.acme.trigger.other.timeout": "5s"}),
            "functions.infer-cxr.annotations.com.acme.trigger.other: settings are given for "
            "this trigger but not its filter",
        ),
        (
            _with("annotations", **{"com.acme.triggers.x": "type=a"}),
            "functions.infer-cxr.annotations.com.acme.triggers.x: unknown annotation",
        ),
        (
            _with("annotations", **{"com.acme.signature": "http"}),
            "functions.infer-cxr: triggers deliver CloudEvents: set com.acme.signature to "
            "cloudevent",
        ),
        (
            _with("annotations", topic="acme.events.>.x"),
            "functions.infer-cxr.annotations.topic: expected NATS subjects separated by commas",
        ),
        (
            _with("annotations", **{"com.acme.concurrency": "0"}),
            "functions.infer-cxr.annotations.com.acme.concurrency: Input should be greater "
            "than or equal to 1, got '0'",
        ),
        (
            _with("annotations", **{"com.acme.concurrency": "a few"}),
            "functions.infer-cxr.annotations.com.acme.concurrency: Input should be a valid integer",
        ),
        (
            _with("annotations", **{"com.acme.trigger.series.concurrency": "0"}),
            "functions.infer-cxr.annotations.com.acme.trigger.series.concurrency: Input should "
            "be greater than or equal to 1, got '0'",
        ),
        (
            _with("limits", **{"nvidia.com/gpu": "two"}),
            "functions.infer-cxr.limits.nvidia.com/gpu: Input should be a valid integer",
        ),
        ({**GOOD_FUNCTION, "imgae": "x"}, "functions.infer-cxr.imgae: unknown field"),
        (
            {k: v for k, v in GOOD_FUNCTION.items() if k != "image"},
            "functions.infer-cxr.image: required field is missing",
        ),
        (
            {**GOOD_FUNCTION, "handler": "../elsewhere"},
            "functions.infer-cxr.handler: expected a folder relative to the stack file, "
            "got '../elsewhere'",
        ),
        (
            {**GOOD_FUNCTION, "lang": "go"},
            "functions.infer-cxr.lang: Input should be 'python3-functions-framework', got 'go'",
        ),
    ],
)
def test_a_mistake_names_the_function_and_the_field(
    tmp_path: Path, function: dict[str, object], expected: str
) -> None:
    path = _write(tmp_path, function)
    with pytest.raises(StackFileError) as caught:
        load_stack(path)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), lines


def test_a_bad_function_name_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_FUNCTION, name="Infer_CXR")
    with pytest.raises(StackFileError, match=r"functions\.Infer_CXR: expected a name of lower"):
        load_stack(path)


def test_file_level_mistakes(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"cannot read the stack file"):
        load_stack(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("functions: [unclosed\n")
    with pytest.raises(StackFileError, match=r"broken\.yml: not valid YAML"):
        load_stack(broken)
    versioned = tmp_path / "v2.yml"
    versioned.write_text("version: 2.0\nprovider: {name: openfaas}\nfunctions: {}\n")
    with pytest.raises(StackFileError) as caught:
        load_stack(versioned)
    assert f"{versioned}: version: Input should be '1.0', got '2.0'" in str(caught.value)


def test_missing_handler_folders_are_listed_and_only_required_on_request(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_FUNCTION)
    stack = load_stack(path)
    assert stack.missing() == {"infer-cxr": tmp_path / "functions" / "infer-cxr"}
    with pytest.raises(StackFileError, match=r"functions\.infer-cxr\.handler: no main\.py in"):
        load_stack(path, require_handlers=True)


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5s", 1.5)]
)
def test_durations_read_like_openfaas(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "soon", "5 m", "0s", "-1s", "1d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30s or 5m"):
        parse_duration(text)
