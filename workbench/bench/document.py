"""Writing ``bench.json``: one document for the bench files of a run, made from their results.

Per case: its figures, both readings of its samples, the processes and children behind them, its
outputs and the changed code it runs; at the top the sides with their environments, the changed
code, and the geometric mean over the cases that run it. Reading it back (what a case may be
taken as, the tables) is :mod:`workbench.bench.report`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workbench.bench import stats
from workbench.bench.report import summary_of
from workbench.bench.roofline import Peak, Roofline, cpu_peak, gpu_peak, roofline
from workbench.bench.runner import BenchRun, CaseRun
from workbench.vocabulary import BASELINE, PATCHED, SIDES

SCHEMA = 3
"""3: ``per_patch``, ``spread`` and ``per_patch_cost`` at the top (``--per-patch``). 2: per case
``outputs``, ``changed_code``, ``may_run``, ``untimed``; ``changed_blocks`` and ``geomean`` at the
top."""
SCHEMA_WITHOUT_PER_PATCH = 2
"""A run without ``--per-patch`` is a schema 2 document as before: readers of 2 still read it."""


def device_of(run: BenchRun) -> str:
    env = run.env.get(PATCHED, {})
    if any(c.device.startswith("cuda") and not c.skipped for c in run.cases):
        return env.get("cuda_device") or "CUDA"
    return env.get("cpu") or "CPU"


def _peak_for(run: BenchRun, case: CaseRun) -> Peak | None:
    if not (case.bytes_moved or case.flops):
        return None
    if case.device.startswith("cuda"):
        return gpu_peak(run.env.get(PATCHED, {}).get("cuda_device", ""))
    return cpu_peak()


def _case_doc(run: BenchRun, case: CaseRun) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": case.id,
        "bench": case.bench,
        "params": case.params,
        "device": case.device,
        "bytes_moved": case.bytes_moved,
        "flops": case.flops,
        "skipped": case.skipped,
        "outputs": case.outputs,
        "changed_code": case.changed_code,
        "may_run": case.may_run,
        "untimed": case.untimed,
    }
    c = case.comparison
    if c is None:
        return doc
    doc.update(
        number=case.number,
        rounds=c.rounds,
        blocks=c.blocks,
        rounds_per_block=case.rounds_per_block,
        block_of_round=case.blocks,
        stopped=case.stopped,
        seconds=round(case.seconds, 3),
        ratio=c.ratio,
        ci=[c.ci_low, c.ci_high],
        p_value=c.p_value,
        verdict=c.verdict,
        noise_warning=c.noise_warning,
        # The two readings of the samples; ratio, ci and p_value above are the basis one's.
        basis=c.basis,
        readings={n: asdict(r) for n, r in (("pairs", c.pairs), ("processes", c.processes)) if r},
        processes={BASELINE: case.processes, PATCHED: case.processes},
        children={BASELINE: case.children, PATCHED: case.children},
        visit_of_round=case.visits,
        measured_seconds=round(case.measured_seconds, 3),
        process_spread=c.process_spread,
        faults_per_call={side: _fault_range(case.faults[side], case.blocks) for side in SIDES},
        baseline={**asdict(c.baseline), "samples_ns": case.baseline_rounds},
        patched={**asdict(c.patched), "samples_ns": case.patched_rounds},
    )
    peak = _peak_for(run, case)
    if peak is not None:
        dtype = str(case.params.get("dtype", "")).replace("torch.", "") or None
        doc["roofline"] = {
            side: _roofline_doc(
                roofline(summary.median_ns / 1e9, case.bytes_moved, case.flops, peak, dtype)
            )
            for side, summary in ((BASELINE, c.baseline), (PATCHED, c.patched))
        }
        doc["peak"] = asdict(peak)
    return doc


def geomean(runs: list[BenchRun], min_effect: float, resamples: int = 2000) -> dict | None:
    """The geometric mean of the patched/baseline ratios over the timed cases that run the
    change, with a 95% interval: each bootstrap draw resamples every case's process pairs, as
    its own interval does, and averages the cases' log ratios."""
    cases = [
        c
        for r in runs
        for c in r.cases
        if c.comparison is not None and c.evidence is not False and c.baseline_rounds
    ]
    if not cases:
        return None
    # Each case resampled as its own interval resamples it: by process pair.
    groups = [
        stats.clusters(stats.log_ratios(c.baseline_rounds, c.patched_rounds), c.blocks)
        for c in cases
    ]
    est = statistics.fmean(statistics.median([x for g in gs for x in g]) for gs in groups)
    rng = random.Random(0)
    draws = []
    for _ in range(resamples):
        total = 0.0
        for gs in groups:
            pick = [gs[rng.randrange(len(gs))] for _ in gs]
            total += statistics.median([x for g in pick for x in g])
        draws.append(total / len(groups))
    draws.sort()
    lo = math.exp(draws[math.floor(0.025 * (resamples - 1))])
    hi = math.exp(draws[math.ceil(0.975 * (resamples - 1))])
    return {
        "ratio": math.exp(est),
        "ci": [lo, hi],
        "cases": len(cases),
        "interval_reads": stats.verdict(lo, hi, min_effect),
    }


def _fault_range(per_round: list[float], blocks: list[int]) -> list[float] | None:
    """Lowest and highest per-process median of page faults per call (CPU cases)."""
    if not per_round or len(per_round) != len(blocks):
        return None
    medians = stats.process_medians([[x] for x in per_round], blocks).values()
    return [round(min(medians), 1), round(max(medians), 1)]


def _roofline_doc(r: Roofline | None) -> dict | None:
    if r is None:
        return None
    return {
        "gbs": r.gbs,
        "tflops": r.tflops,
        "pct_bandwidth": r.pct_bandwidth,
        "pct_flops": r.pct_flops,
    }


def to_document(
    runs: list[BenchRun],
    *,
    upstream: str | None = None,
    command: str | None = None,
    extra: dict | None = None,
) -> dict[str, Any]:
    """The ``bench.json`` document for one or more bench files run with the same sides."""
    first = runs[0]
    cases = [{"file": Path(r.file).name, **_case_doc(r, c)} for r in runs for c in r.cases]
    changes = first.changes
    changed: dict[str, Any] = {
        "changed_blocks": None,
        "changed_not_traceable": None,
        "changed_files": None,
    }
    if changes is not None:
        changed = changes.to_doc()
    return {
        "schema": SCHEMA_WITHOUT_PER_PATCH,
        "kind": "bench",
        "upstream": upstream,
        "command": command,
        "files": [r.file for r in runs],
        "started": dt.datetime.fromtimestamp(first.started, dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(sum(r.seconds for r in runs), 2),
        "device": device_of(first),
        # The limit an undecided case ran to, resolved (the default is a multiple of the budget).
        "settings": {**asdict(first.settings), "max_budget": first.settings.limit},
        "sides": {
            BASELINE: {**asdict(first.baseline), "env": first.env.get(BASELINE, {})},
            PATCHED: {**asdict(first.patched), "env": first.env.get(PATCHED, {})},
        },
        "summary": summary_of(cases),
        "startup_seconds": round(sum(r.startup_seconds for r in runs), 2),
        # The untimed call per case and side (outputs, the changed code it runs).
        "probe_seconds": round(sum(r.probe_seconds for r in runs), 2),
        "processes": max((r.processes for r in runs), default=0),
        **changed,
        "geomean": geomean(runs, first.settings.min_effect),
        "cases": cases,
        **(extra or {}),
    }


def with_per_patch(doc: dict[str, Any], per_patch: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the per-patch results (``per_patch.PerPatch.attribute``): schema 3."""
    return {**doc, "schema": SCHEMA, **per_patch}
