"""How often the bench harness gets the answer right, against simpler rules, on this machine.

Usage:
    python benchmarks/bench_quality.py run [--trials 30] [--workloads loop,torch] [--rows ...]
    python benchmarks/bench_quality.py report            # markdown table from the saved trials
    python benchmarks/bench_quality.py ao --python PY --ao-src DIR [--trials 2] [--load both]
    python benchmarks/bench_quality.py ao-report         # the real-torchao table

`ao`: all CPU cases of `upstreams/ao/benches/bench_quant_primitives.py` on a real torchao, with
the interpreter of a built ao environment (`.workbench/envs/ao/baseline/bin/python`) and two
copies of its `torchao/` package (from `--ao-src`, the worktree at the pin) laid first on
PYTHONPATH: A/A (both copies as released) and A/B (the patched copy clones the input before
rounding in `_quantize_affine_no_dtype_cast`: only adds work, to the quantize cases only; the
choose_qparams cases stay unchanged), each quiet and with a CPU-bound process on another core.
Appended to benchmarks/results/quality_ao.jsonl.

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


def ao_trial(python: str, src: Path, row: str, load: bool) -> list[dict]:
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
                Settings(),
            )
            wall = time.perf_counter() - t0
        finally:
            if burner:
                burner.terminate()
    loaded_from = result.env["patched"]["modules"]["torchao"]["file"] or ""
    assert loaded_from.startswith(str(b)), f"torchao came from {loaded_from}, not the overlay"
    records = []
    for case in result.cases:
        if case.skipped:
            continue
        c = case.comparison
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
            }
        )
    return records


def cmd_ao(args: argparse.Namespace) -> None:
    AO_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    loads = {"both": (False, True), "quiet": (False,), "loaded": (True,)}[args.load]
    for i in range(args.trials):
        for row in ("same", "clone"):
            for load in loads:
                recs = ao_trial(args.python, Path(args.ao_src), row, load)
                with AO_RESULTS.open("a") as fh:
                    for rec in recs:
                        fh.write(json.dumps(rec) + "\n")
                for rec in recs:
                    print(
                        f"{row:5} {'loaded' if load else 'quiet':6} #{i + 1} {rec['case']:55} "
                        f"{rec['verdict']:12} {rec['ratio']:.3f} [{rec['ci'][0]:.3f}, "
                        f"{rec['ci'][1]:.3f}] procs {rec['processes']:2} one-run {rec['one_run']:9} "
                        f"asv {rec['asv']}",
                        flush=True,
                    )
                print(f"trial wall {recs[0]['trial_wall_s']:.0f} s", flush=True)


def _ao_mix(recs: list[dict], key: str) -> str:
    n = len(recs)
    counts = {v: sum(r[key] == v for r in recs) for v in ("slower", "faster", "unchanged")}
    counts["inconclusive"] = n - sum(counts.values())
    return " / ".join(str(counts[v]) for v in ("slower", "faster", "unchanged", "inconclusive"))


def cmd_ao_report(args: argparse.Namespace) -> None:
    recs = [json.loads(ln) for ln in AO_RESULTS.read_text().splitlines()]
    print(
        "| row | load | cases | harness: slower / faster / unchanged / inconclusive | "
        "one long-lived pair (rounds as evidence) | one run per side | asv rule | "
        "processes per side (median) | case s (median) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    groups = [
        ("A/A: every case", "same", None),
        ("A/B: quantize cases, 2^21 (clone: large)", "clone", "n=2097152"),
        ("A/B: quantize cases, 2^16 (clone: ~10%)", "clone", "n=65536"),
        ("A/B: choose_qparams cases (unchanged code)", "clone", "choose"),
    ]
    for label, row, sel in groups:
        for load in (False, True):
            rs = [
                r
                for r in recs
                if r["row"] == row
                and r["load"] == load
                and (
                    sel is None
                    or (sel == "choose" and not r["changed"])
                    or (sel != "choose" and r["changed"] and sel in r["case"])
                )
            ]
            if not rs:
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
    a.set_defaults(func=cmd_ao)
    sub.add_parser("ao-report").set_defaults(func=cmd_ao_report)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
