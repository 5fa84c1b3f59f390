"""Before/after microbenchmarks: the ``@bench`` API (stdlib only), runner, statistics, reports."""

from workbench.bench.api import BenchSpec, Case, Skip, bench, skip

__all__ = ["BenchSpec", "Case", "Skip", "bench", "skip"]
