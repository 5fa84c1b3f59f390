"""What finding out which patch did it cost, in words: one phrasing for every place that says it
(the CLI lines of ``tests run``/``bench run --per-patch``, ``bench.md``, the Patches tab, the PR
draft)."""

from __future__ import annotations

from typing import Any

COST_RUNS = {"tests": "pytest", "bench": "bench"}
"""What a run of each kind is called in the words: ``2 pytest run(s)``, ``2 bench run(s)``."""


def cost_words(cost: dict[str, Any], runs: str) -> str:
    """``linear, 2 build(s), 2 pytest run(s), 3.1 s`` from a ``per_patch_cost``, and its note."""
    line = (
        f"{cost.get('method')}, {cost.get('builds')} build(s), {cost.get('runs')} {runs} run(s), "
        f"{float(cost.get('seconds') or 0):.1f} s"
    )
    return line + (f"; {cost['note']}" if cost.get("note") else "")
