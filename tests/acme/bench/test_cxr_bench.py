"""``acme bench cxr`` writes comparable numbers for both models (a short run)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from acme.cli.bench_commands import bench

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_bench_cxr_writes_both_models_with_their_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench-results"
    result = CliRunner().invoke(
        bench,
        ["cxr", "--iterations", "2", "--warmup", "1", "--out", str(out), "--device", "cpu"],
        env={"ACME_MODELS_DIR": str(MODELS), "ACME_CXR_HEATMAP_GRID": "2"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "cxr.json").read_text())
    assert [r["model"] for r in report["results"]] == [
        "cxr-synthetic/1.0.0",
        "densenet121-random/0.0.1",
    ]
    for entry in report["results"]:
        assert entry["provider"] == "CPUExecutionProvider"
        fn, bare = entry["function_path"], entry["bare_onnxruntime"]
        assert fn["images"] == bare["images"] == 2
        assert fn["p95_ms"] >= fn["p50_ms"] > 0
        expected = fn["images_per_second"] / bare["images_per_second"]
        assert abs(entry["throughput_ratio"] - expected) < 0.01
        assert entry["heatmap_grid"] == 2 and entry["heatmap_ms"] > 0
    assert "ratio" in result.output
    assert "heatmap, grid 2 (4 occlusions)" in result.output
    assert report["chart"] == "cxr.png"
    assert (out / "cxr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
