"""Before/after microbenchmarks: the ``@bench`` API (stdlib only), runner, statistics, reports."""

from workbench.bench.api import BenchSpec, Case, KernelSpec, Skip, bench, kernel_spec, skip

__all__ = ["BenchSpec", "Case", "KernelSpec", "Skip", "bench", "kernel_spec", "skip"]
