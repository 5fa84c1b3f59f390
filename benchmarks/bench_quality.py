"""How often the bench harness gets the answer right, against simpler rules, on this machine.

Usage:
    python benchmarks/bench_quality.py run [--trials 30] [--workloads loop,torch] [--rows ...]
    python benchmarks/bench_quality.py report            # markdown table from the saved trials
    python benchmarks/bench_quality.py ao --python PY --ao-src DIR [--trials 2] [--load both]
        [--allocator pinned|default] [--out FILE]
    python benchmarks/bench_quality.py ao-report [--results FILE]   # the real-torchao table
    python benchmarks/bench_quality.py ao-cost --python PY [--allocator pinned|default]

`ao`: all CPU cases of `upstreams/ao/benches/bench_quant_primitives.py` on a real torchao, with
the interpreter of a built ao environment (`.workbench/envs/ao/baseline/bin/python`) and two
copies of its `torchao/` package (from `--ao-src`, the worktree at the pin) laid first on
PYTHONPATH: A/A (both copies as released) and A/B (the patched copy clones the input before
rounding in `_quantize_affine_no_dtype_cast`: only adds work, to the quantize cases only; the
choose_qparams cases stay unchanged), each quiet and with a CPU-bound process on another core.
Appended to benchmarks/results/quality_ao.jsonl (the harness before the allocator was pinned);
with `--out benchmarks/results/quality_ao_allocator.jsonl` each record also holds the two
readings, the previous rule's verdict on the same samples (`old_rule`), the page faults per call
and the per-round medians with the pair of each round, so other rules can be tried offline.

Each trial is one `workbench bench run` comparison of two import paths whose only difference is
the amount of work: `loop` (a pure-Python loop over n items) or `torch` (torchao's
`quantize_affine` from the installed torchao wheel over n chunks of 256x256 elements). The slowdown is made by
more items, never by a sleep. Rows:

    identical   both sides the same          budget 10 s, min-effect 2% (and 1%, re-analysed)
    slower-5    patched does 5% more work    budget 10 s, min-effect 2%
    slower-2    patched does 2% more work    budget 20 s, min-effect 1%

The same trials are also judged by two simpler rules, from the samples each trial recorded:
"one run per side" (one process per side, medians compared against ±min-effect: what running a
script twice and comparing numbers does) and asv's rule (Mann-Whitney p < 0.002 and a factor of
1.1). Results are appended to benchmarks/results/quality.jsonl, so a long run can be resumed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from workbench.bench import stats
from workbench.bench.runner import Settings, SideSpec, run

RESULTS = Path(__file__).resolve().parent / "results" / "quality.jsonl"

ROWS = {
    "identical": {"effect": 0.0, "budget": 10.0, "min_effect": 0.02},
    "slower-5": {"effect": 0.05, "budget": 10.0, "min_effect": 0.02},
    "slower-2": {"effect": 0.02, "budget": 20.0, "min_effect": 0.01},
}

WORKLOADS = {
    # n chosen for about 1-3 ms per call on a 2-core x86 machine.
    "loop": {
        "n": 20_000,
        "module": "N = {n}\n\ndef work():\n    s = 0\n    for i in range(N):\n        s += i * i\n    return s\n",
        "bench": "from workbench.bench import bench\n\n\n@bench\ndef loop():\n    import wl\n    return wl.work\n",
    },
    # quantize_affine over `n` chunks of 256x256 elements: time grows with the element count
    # in equal steps, where one tensor of n elements would cross allocator and cache cliffs.
    "torch": {
        "n": 20,
        "module": "N = {n}\n",
        "bench": (
            "from workbench.bench import bench\n\n\n@bench\ndef quantize_affine():\n"
            "    import torch\n"
            "    from torchao.quantization.quant_primitives import (\n"
            "        MappingType, choose_qparams_affine, quantize_affine)\n"
            "    import wl\n"
            "    torch.manual_seed(0)\n"
            "    block = (1, 256)\n"
            "    chunks = []\n"
            "    for _ in range(wl.N):\n"
            "        x = torch.randn(256, 256)\n"
            "        s, z = choose_qparams_affine(x, MappingType.ASYMMETRIC, block, torch.uint8)\n"
            "        chunks.append((x, s, z))\n"
            "    def run():\n"
            "        for x, s, z in chunks:\n"
            "            quantize_affine(x, block, s, z, torch.uint8)\n"
            "    return run\n"
        ),
    },
}


def one_run_per_side(case, min_effect: float) -> str:
    """Compare one process per side (the first block), as running a script twice does."""
    first = [i for i, b in enumerate(case.blocks) if b == case.blocks[0]]
    a = statistics.median(x for i in first for x in case.baseline_rounds[i])
    b = statistics.median(x for i in first for x in case.patched_rounds[i])
    ratio = b / a
    if ratio > 1 + min_effect:
        return stats.SLOWER
    if ratio < 1 - min_effect:
        return stats.FASTER
    return stats.UNCHANGED


def one_pair_rounds(case, min_effect: float) -> str:
    """What the harness said before processes were sampled: the rounds of one long-lived pair
    of processes, each round taken as independent evidence."""
    first = [i for i, b in enumerate(case.blocks) if b == case.blocks[0]]
    return stats.compare(
        [case.baseline_rounds[i] for i in first],
        [case.patched_rounds[i] for i in first],
        min_effect=min_effect,
    ).verdict


def old_rule(c: stats.Comparison, min_effect: float = 0.02) -> str:
    """The verdict rule before the process reading: the paired reading alone, its 95% interval
    beyond ±min-effect and its signed-rank p below 0.05, from at least six pairs."""
    assert c.pairs is not None
    if c.blocks < stats.MIN_UNITS:
        return stats.INCONCLUSIVE
    v = stats.verdict(c.pairs.ci_low, c.pairs.ci_high, min_effect)
    if v in (stats.FASTER, stats.SLOWER) and c.pairs.p_value >= 0.05:
        return stats.INCONCLUSIVE
    return v


def committed_rule(rec: dict) -> tuple[str, str]:
    """The verdict and its basis by the rule as committed, re-read from a record's readings:
    both readings with the allocator pinned, the paired one alone with glibc's default."""
    if rec["processes"] < stats.MIN_UNITS:
        return stats.INCONCLUSIVE, "pairs"
    pairs = stats.Reading(**rec["readings"]["pairs"])
    procs = rec["readings"].get("processes")
    procs = stats.Reading(**procs) if procs and rec["allocator"] == "pinned" else None
    _, basis, verdict = stats.combine(pairs, procs)
    return verdict, basis


def _faults_by_process(case, side: str) -> list[float]:
    """Median page faults per call of each process of one side (CPU cases)."""
    per: dict[int, list[float]] = {}
    for f, b in zip(case.faults[side], case.blocks, strict=False):
        per.setdefault(b, []).append(f)
    return [round(statistics.median(v), 1) for _, v in sorted(per.items())]


def asv_rule(case) -> str:
    """asv compare: different only if Mann-Whitney p < 0.002 and the ratio beyond 1.1."""
    a = [x for r in case.baseline_rounds for x in r]
    b = [x for r in case.patched_rounds for x in r]
    ratio = statistics.median(b) / statistics.median(a)
    if stats.mann_whitney(a, b) >= 0.002:
        return stats.UNCHANGED
    if ratio > 1.1:
        return stats.SLOWER
    if ratio < 1 / 1.1:
        return stats.FASTER
    return stats.UNCHANGED


def trial(workload: str, row: str) -> dict:
    w, r = WORKLOADS[workload], ROWS[row]
    n = w["n"]
    if workload == "torch" and r["effect"] == 0.02:
        n = 50  # 50 → 51 chunks: a 2% step needs more than 20 of them
    n_patched = round(n * (1 + r["effect"]))
    with tempfile.TemporaryDirectory() as tmp:
        base, patched = Path(tmp, "a"), Path(tmp, "b")
        base.mkdir()
        patched.mkdir()
        (base / "wl.py").write_text(w["module"].format(n=n))
        (patched / "wl.py").write_text(w["module"].format(n=n_patched))
        bench_file = Path(tmp, "bench_quality_case.py")
        bench_file.write_text(w["bench"])
        t0 = time.perf_counter()
        result = run(
            bench_file,
            SideSpec("baseline", path=str(base)),
            SideSpec("patched", path=str(patched)),
            Settings(budget=r["budget"], min_effect=r["min_effect"]),
        )
        wall = time.perf_counter() - t0
    case = result.cases[0]
    c = case.comparison
    record = {
        "workload": workload,
        "row": row,
        **r,
        "true_ratio": n_patched / n,
        "verdict": c.verdict,
        "ratio": c.ratio,
        "ci": [c.ci_low, c.ci_high],
        "p": c.p_value,
        "rounds": c.rounds,
        "blocks": c.blocks,
        "rounds_per_block": case.rounds_per_block,
        "stopped": case.stopped,
        "wall_s": wall,
        "one_run": one_run_per_side(case, r["min_effect"]),
        "asv": asv_rule(case),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if row == "identical":
        # The same samples judged with a 1% min-effect (the threshold of the slower-2 row).
        strict = stats.compare(
            case.baseline_rounds, case.patched_rounds, min_effect=0.01, blocks=case.blocks
        )
        record["verdict_at_1pct"] = strict.verdict
        record["one_run_at_1pct"] = one_run_per_side(case, 0.01)
    return record


def cmd_run(args: argparse.Namespace) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    done: dict[tuple[str, str], int] = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            rec = json.loads(line)
            key = (rec["workload"], rec["row"])
            done[key] = done.get(key, 0) + 1
    os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")
    for i in range(args.trials):
        # Rows interleaved, so slow drift of the machine over the hour touches every row.
        for workload in args.workloads.split(","):
            for row in args.rows.split(","):
                if done.get((workload, row), 0) > i:
                    continue
                rec = trial(workload, row)
                with RESULTS.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                print(
                    f"{workload:6} {row:10} #{i + 1:<3} {rec['verdict']:12} ratio {rec['ratio']:.4f} "
                    f"[{rec['ci'][0]:.4f}, {rec['ci'][1]:.4f}] blocks {rec['blocks']:3} "
                    f"one-run {rec['one_run']:9} asv {rec['asv']:9} {rec['wall_s']:.1f} s",
                    flush=True,
                )


def _rate(records: list[dict], key: str, row: str) -> str:
    """False alarms on identical code; on slower rows, how often slower (and faster) was said."""
    n = len(records)
    slower = sum(r[key] == "slower" for r in records)
    faster = sum(r[key] == "faster" for r in records)
    if row.startswith("identical"):
        return f"{100 * (slower + faster) / n:.0f}% false alarms"
    text = f"{100 * slower / n:.0f}% slower"
    return text + (f" ({100 * faster / n:.0f}% faster)" if faster else "")


def cmd_report(args: argparse.Namespace) -> None:
    records = [json.loads(ln) for ln in RESULTS.read_text().splitlines()]
    print(
        "| workload | row | trials | harness | harness verdicts: slower / faster / unchanged / "
        "inconclusive | one run per side | asv rule | median wall s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        for row, spec in ROWS.items():
            rs = [r for r in records if r["workload"] == workload and r["row"] == row]
            if not rs:
                continue
            label = f"{row} (budget {spec['budget']:g} s, min-effect {100 * spec['min_effect']:g}%)"
            mix = " / ".join(
                f"{100 * sum(r['verdict'] == v for r in rs) / len(rs):.0f}%"
                for v in ("slower", "faster", "unchanged", "inconclusive")
            )
            print(
                f"| {workload} | {label} | {len(rs)} | {_rate(rs, 'verdict', row)} | {mix} | "
                f"{_rate(rs, 'one_run', row)} | {_rate(rs, 'asv', row)} | "
                f"{statistics.median(r['wall_s'] for r in rs):.1f} |"
            )
            if row == "identical":
                print(
                    f"| {workload} | identical, the same samples at min-effect 1% | {len(rs)} | "
                    f"{_rate(rs, 'verdict_at_1pct', row)} | | "
                    f"{_rate(rs, 'one_run_at_1pct', row)} | | |"
                )


def cmd_calibrate(args: argparse.Namespace) -> None:
    """The real cost ratio of each row's two workloads, timed alternately in one process."""
    import time as _time

    def loop_work(n):
        def work():
            s = 0
            for i in range(n):
                s += i * i
            return s

        return work

    def torch_work(chunks):
        import torch
        from torchao.quantization.quant_primitives import (
            MappingType,
            choose_qparams_affine,
            quantize_affine,
        )

        torch.set_num_threads(1)
        torch.manual_seed(0)
        data = []
        for _ in range(chunks):
            x = torch.randn(256, 256)
            sc, zp = choose_qparams_affine(x, MappingType.ASYMMETRIC, (1, 256), torch.uint8)
            data.append((x, sc, zp))

        def work():
            for x, sc, zp in data:
                quantize_affine(x, (1, 256), sc, zp, torch.uint8)

        return work

    pairs = [
        ("loop", 20_000, 21_000, loop_work),
        ("loop", 20_000, 20_400, loop_work),
        ("torch", 20, 21, torch_work),
        ("torch", 50, 51, torch_work),
    ]
    for name, n_a, n_b, make in pairs:
        fa, fb = make(n_a), make(n_b)
        ta, tb = [], []
        for _ in range(300):
            for f, out in ((fa, ta), (fb, tb)):
                t0 = _time.perf_counter_ns()
                f()
                out.append(_time.perf_counter_ns() - t0)
        print(
            f"{name} {n_a} → {n_b}: work ratio {n_b / n_a:.3f}, time ratio of medians "
            f"{statistics.median(tb) / statistics.median(ta):.4f} (one process, alternating)"
        )


AO_RESULTS = RESULTS.parent / "quality_ao.jsonl"
AO_BENCH = Path(__file__).resolve().parent.parent / "upstreams/ao/benches/bench_quant_primitives.py"
CLONE_OLD = "    quant = torch.clamp(\n        _Round.apply(input * (1.0 / scale))"
CLONE_NEW = "    input = input.clone()\n" + CLONE_OLD


def _overlay(src: Path, dest: Path, patched: bool) -> None:
    import shutil

    shutil.copytree(src / "torchao", dest / "torchao", ignore=shutil.ignore_patterns("*.so"))
    if patched:
        f = dest / "torchao" / "quantization" / "quant_primitives.py"
        text = f.read_text()
        assert text.count(CLONE_OLD) == 1, "the clone patch no longer applies"
        f.write_text(text.replace(CLONE_OLD, CLONE_NEW))


def _burn() -> None:
    while True:
        sum(i * i for i in range(10_000))


def ao_trial(
    python: str, src: Path, row: str, load: bool, allocator: str = "pinned", samples: bool = False
) -> list[dict]:
    import multiprocessing

    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "a"), Path(tmp, "b")
        _overlay(src, a, False)
        _overlay(src, b, row == "clone")
        burner = None
        if load:
            burner = multiprocessing.get_context("spawn").Process(target=_burn, daemon=True)
            burner.start()
        try:
            t0 = time.perf_counter()
            env = {"TORCHAO_FORCE_SKIP_LOADING_SO_FILES": "1"}
            result = run(
                AO_BENCH,
                SideSpec("baseline", python=python, path=str(a), env=env),
                SideSpec("patched", python=python, path=str(b), env=env),
                Settings(allocator=allocator),
            )
            wall = time.perf_counter() - t0
        finally:
            if burner:
                burner.terminate()
    loaded_from = result.env["patched"]["modules"]["torchao"]["file"] or ""
    assert loaded_from.startswith(str(b)), f"torchao came from {loaded_from}, not the overlay"
    malloc = result.env["patched"].get("malloc")
    loadavg = os.getloadavg()[0]  # at the trial's end: others' work on the machine shows here
    records = []
    for case in result.cases:
        if case.skipped or case.comparison is None:
            continue
        c = case.comparison
        extra = {}
        if samples:
            extra = {
                "allocator": allocator,
                "malloc": malloc,
                "loadavg_1min": round(loadavg, 2),
                "old_rule": old_rule(c),
                "basis": c.basis,
                "readings": {
                    n: asdict(r) for n, r in (("pairs", c.pairs), ("processes", c.processes)) if r
                },
                "faults_per_call": {
                    side: _faults_by_process(case, side) for side in ("baseline", "patched")
                },
                "blocks": case.blocks,
                "round_medians": {
                    side: [round(statistics.median(r), 1) for r in rounds]
                    for side, rounds in (
                        ("baseline", case.baseline_rounds),
                        ("patched", case.patched_rounds),
                    )
                },
            }
        records.append(
            {
                "row": row,
                "load": load,
                "case": case.id,
                "changed": row == "clone" and case.bench == "quantize_affine",
                "verdict": c.verdict,
                "ratio": c.ratio,
                "ci": [c.ci_low, c.ci_high],
                "p": c.p_value,
                "processes": case.processes,
                "rounds": c.rounds,
                "stopped": case.stopped,
                "measured_s": case.measured_seconds,
                "case_s": case.seconds,
                "spread": c.process_spread,
                "one_run": one_run_per_side(case, 0.02),
                "one_pair": one_pair_rounds(case, 0.02),
                "asv": asv_rule(case),
                "trial_wall_s": wall,
                "startup_s": result.startup_seconds,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                **extra,
            }
        )
    return records


def cmd_ao(args: argparse.Namespace) -> None:
    out = Path(args.out) if args.out else AO_RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    loads = {"both": (False, True), "quiet": (False,), "loaded": (True,)}[args.load]
    for i in range(args.trials):
        for row in ("same", "clone"):
            for load in loads:
                recs = ao_trial(
                    args.python, Path(args.ao_src), row, load, args.allocator, out != AO_RESULTS
                )
                with out.open("a") as fh:
                    for rec in recs:
                        fh.write(json.dumps(rec) + "\n")
                for rec in recs:
                    print(
                        f"{row:5} {'loaded' if load else 'quiet':6} #{i + 1} {rec['case']:55} "
                        f"{rec['verdict']:12} {rec['ratio']:.3f} [{rec['ci'][0]:.3f}, "
                        f"{rec['ci'][1]:.3f}] p {rec['p']:.2g} procs {rec['processes']:2} "
                        f"old rule {rec.get('old_rule', '-'):12} one-run {rec['one_run']:9} "
                        f"asv {rec['asv']}",
                        flush=True,
                    )
                print(f"trial wall {recs[0]['trial_wall_s']:.0f} s", flush=True)


def _ao_mix(recs: list[dict], key: str) -> str:
    n = len(recs)
    counts = {v: sum(r[key] == v for r in recs) for v in ("slower", "faster", "unchanged")}
    counts["inconclusive"] = n - sum(counts.values())
    return " / ".join(str(counts[v]) for v in ("slower", "faster", "unchanged", "inconclusive"))


COST_CHILD = r"""
import inspect, json, statistics, sys, textwrap, time
import torch
from torchao.quantization import quant_primitives as qp
torch.set_num_threads(1)
old, new = sys.argv[1], sys.argv[2]
src = textwrap.dedent(inspect.getsource(qp._quantize_affine_no_dtype_cast))
assert src.count(old) == 1
scope = {}
exec(src.replace(old, new), qp.__dict__, scope)
funcs = {"released": qp._quantize_affine_no_dtype_cast, "clone": scope["_quantize_affine_no_dtype_cast"]}
out = {}
for n in (2**16, 2**21):
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(0)
        x = torch.randn(n // 256, 256, dtype=dtype)
        s, z = qp.choose_qparams_affine(x, qp.MappingType.ASYMMETRIC, (1, 256), torch.uint8)
        times = {k: [] for k in funcs}
        for i in range(3 + 100):
            for k, f in funcs.items():
                qp._quantize_affine_no_dtype_cast = f
                t = time.perf_counter_ns()
                qp.quantize_affine(x, (1, 256), s, z, torch.uint8)
                if i >= 3:
                    times[k].append(time.perf_counter_ns() - t)
        qp._quantize_affine_no_dtype_cast = funcs["released"]
        out[f"n={n},{str(dtype)[6:]}"] = statistics.median(times["clone"]) / statistics.median(
            times["released"]
        )
print(json.dumps(out))
"""


def cmd_ao_cost(args: argparse.Namespace) -> None:
    """What the clone patch costs per quantize case, timed in one process alternating the
    released and the patched function (100 calls each), in several fresh processes."""
    import subprocess

    from workbench.bench.processes import allocator_env

    env = {
        **allocator_env(os.environ, args.allocator),
        "OMP_NUM_THREADS": "1",
        "TORCHAO_FORCE_SKIP_LOADING_SO_FILES": "1",
    }
    runs = []
    for _ in range(args.processes):
        out = subprocess.run(
            [args.python, "-c", COST_CHILD, CLONE_OLD, CLONE_NEW],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"allocator {args.allocator}, {args.processes} processes: clone/released per process")
    for case in runs[0]:
        ratios = sorted(r[case] for r in runs)
        print(
            f"{case:22} median {statistics.median(ratios):.3f}  range {ratios[0]:.3f}-"
            f"{ratios[-1]:.3f}"
        )


def _allocator_label(rec: dict) -> str:
    """How the workers' malloc was set, from the values they reported."""
    if rec.get("allocator", "default") == "default":
        return "default"
    m = rec.get("malloc") or {}
    mmap, trim = (
        int(m.get(k, 0)) >> 20 for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    )
    return f"pinned {mmap} MiB / {trim} MiB"


def cmd_ao_report(args: argparse.Namespace) -> None:
    recs = [json.loads(ln) for ln in Path(args.results).read_text().splitlines()]
    both = all("old_rule" in r for r in recs)
    if both:
        for r in recs:
            r["committed"], r["committed_basis"] = committed_rule(r)
        print(
            "| row | allocator | load | cases | harness: slower / faster / unchanged / "
            "inconclusive | of them on the processes' reading | the previous rule, same samples "
            "| both readings, as run | processes per side (median) | case s (median) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
    else:
        print(
            "| row | load | cases | harness: slower / faster / unchanged / inconclusive | "
            "one long-lived pair (rounds as evidence) | one run per side | asv rule | "
            "processes per side (median) | case s (median) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
    groups = [
        ("A/A: every case", "same", None),
        ("A/B: quantize cases, 2^21", "clone", "n=2097152"),
        ("A/B: quantize cases, 2^16", "clone", "n=65536"),
        ("A/B: choose_qparams cases (unchanged code)", "clone", "choose"),
    ]
    allocators = sorted({_allocator_label(r) for r in recs}, reverse=True)
    for label, row, sel in groups:
        for allocator, load in [(a, ld) for a in allocators for ld in (False, True)]:
            rs = [
                r
                for r in recs
                if r["row"] == row
                and r["load"] == load
                and _allocator_label(r) == allocator
                and (
                    sel is None
                    or (sel == "choose" and not r["changed"])
                    or (sel != "choose" and r["changed"] and sel in r["case"])
                )
            ]
            if not rs:
                continue
            if both:
                print(
                    f"| {label} | {allocator} | {'loaded' if load else 'quiet'} | {len(rs)} | "
                    f"{_ao_mix(rs, 'committed')} | "
                    f"{sum(r['committed_basis'] == 'processes' for r in rs)} | "
                    f"{_ao_mix(rs, 'old_rule')} | {_ao_mix(rs, 'verdict')} | "
                    f"{statistics.median(r['processes'] for r in rs):.0f} | "
                    f"{statistics.median(r['case_s'] for r in rs):.0f} |"
                )
                continue
            print(
                f"| {label} | {'loaded' if load else 'quiet'} | {len(rs)} | "
                f"{_ao_mix(rs, 'verdict')} | {_ao_mix(rs, 'one_pair')} | {_ao_mix(rs, 'one_run')} | {_ao_mix(rs, 'asv')} | "
                f"{statistics.median(r['processes'] for r in rs):.0f} | "
                f"{statistics.median(r['case_s'] for r in rs):.0f} |"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(required=True)
    r = sub.add_parser("run")
    r.add_argument("--trials", type=int, default=30)
    r.add_argument("--workloads", default="loop,torch")
    r.add_argument("--rows", default=",".join(ROWS))
    r.set_defaults(func=cmd_run)
    sub.add_parser("report").set_defaults(func=cmd_report)
    sub.add_parser("calibrate").set_defaults(func=cmd_calibrate)
    a = sub.add_parser("ao")
    a.add_argument("--python", required=True, help="interpreter of a built ao environment")
    a.add_argument("--ao-src", required=True, help="the ao worktree at the pin")
    a.add_argument("--trials", type=int, default=2)
    a.add_argument("--load", choices=("both", "quiet", "loaded"), default="both")
    a.add_argument("--allocator", choices=("pinned", "default"), default="pinned")
    a.add_argument("--out", help=f"results file (default {AO_RESULTS}: summaries only)")
    a.set_defaults(func=cmd_ao)
    c = sub.add_parser("ao-cost")
    c.add_argument("--python", required=True, help="interpreter of a built ao environment")
    c.add_argument("--allocator", choices=("pinned", "default"), default="pinned")
    c.add_argument("--processes", type=int, default=6)
    c.set_defaults(func=cmd_ao_cost)
    ar = sub.add_parser("ao-report")
    ar.add_argument("--results", default=str(AO_RESULTS))
    ar.set_defaults(func=cmd_ao_report)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
