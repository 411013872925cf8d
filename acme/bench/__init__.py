"""Benchmarks run by ``acme bench``: each writes JSON (and a chart if it can) to a folder."""

from acme.bench.cxr import ModelResult, Stats, bench_model, radiographs, run_bench

__all__ = ["ModelResult", "Stats", "bench_model", "radiographs", "run_bench"]
