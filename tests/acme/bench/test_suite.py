"""The ``acme bench`` suite: each subcommand writes its JSON with the baseline beside the
figure and the ratio of the two, and its chart (short runs; figures are never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from acme.bench._common import write_report
from acme.cli.bench_commands import bench

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_report_carries_the_machine_and_its_chart(tmp_path: Path) -> None:
    path = write_report(
        tmp_path, "demo", {"ratio": 0.5}, [("baseline", 2.0), ("ours", 1.0)],
        ylabel="per second", title="t",
    )  # fmt: skip
    report = json.loads(path.read_text())
    assert report["benchmark"] == "demo" and report["ratio"] == 0.5
    assert (tmp_path / report["chart"]).read_bytes().startswith(PNG)


def test_coldstart_splits_each_process_into_its_phases(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench, ["coldstart", "--rounds", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "coldstart.json").read_text())
    for name in ("function path", "bare onnxruntime", "forked by the prefork"):
        phases = report["median_seconds"][name]
        parts = sum(
            phases[p] for p in ("process start", "imports", "model load", "first inference")
        )
        assert abs(parts - phases["total"]) < 0.01
        assert phases["cpu"] > 0
    fn, bare = (report["median_seconds"][n]["total"] for n in ("function path", "bare onnxruntime"))
    assert report["ratio"] == round(fn / bare, 2)
    assert "ratio function path / bare" in result.output
    forked = report["median_seconds"]["forked by the prefork"]
    assert report["forked_ratio"] == round(forked["total"] / bare, 2)
    # what the prefork imported is not imported again: the child imports less than a new
    # interpreter does (infer-cxr's package and onnxruntime only)
    assert forked["imports"] < report["median_seconds"]["function path"]["imports"]


def test_send_puts_the_same_files_both_ways_on_a_platform_of_its_own(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench, ["send", "--count", "6", "--rounds", "1", "--workers", "2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "send.json").read_text())
    raw, send = report["raw_put_per_second"]["median"], report["acme_send_per_second"]["median"]
    assert raw > 0 and send > 0
    assert abs(report["ratio"] - send / raw) < 0.01
    assert (tmp_path / "send.png").read_bytes().startswith(PNG)
