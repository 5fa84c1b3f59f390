"""Time from `nox -s NAME_bench` to the first benchmark, when nothing changed since the last run.

Usage: WORKBENCH_AO_URL=/path/to/ao python benchmarks/bench_nox_startup.py [--name ao] [--runs 5]

Runs `nox -s NAME_bench -- --only CASE --budget 1` once to build whatever is missing, then
`--runs` more times, and reads the session's stderr as it comes: the figure is the time from
starting nox to the line "starting the bench workers" (environments checked and found up to
date, nothing reinstalled). How long the workers then take to import torch is shown apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(name: str, only: str) -> tuple[float, float, str]:
    cmd = [
        sys.executable,
        "-m",
        "nox",
        "-s",
        f"{name}_bench",
        "--",
        "--only",
        only,
        "--budget",
        "1",
        "--no-adaptive",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    ready = None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if ready is None and "starting the bench workers" in line:
            ready = time.perf_counter() - t0
    proc.wait()
    total = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or ready is None:
        sys.exit("".join(lines[-30:]))
    return ready, total, "".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="ao")
    p.add_argument("--only", default="quantize_affine[n=65536,dtype=float32,device=cpu]")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    t0 = time.perf_counter()
    ready, total, _ = one_run(args.name, args.only)
    print(
        f"first run (builds what is missing): {time.perf_counter() - t0:.1f} s, "
        f"workers started after {ready:.1f} s"
    )
    readies, totals = [], []
    for _ in range(args.runs):
        ready, total, log = one_run(args.name, args.only)
        readies.append(ready)
        totals.append(total)
        print(f"re-run: first benchmark after {ready:.2f} s (whole session {total:.1f} s)")
    print(
        f"median over {args.runs} re-runs: {statistics.median(readies):.2f} s before the first "
        f"benchmark; whole session (1 case, 1 s budget, torch import in both workers) "
        f"{statistics.median(totals):.1f} s"
    )
    rebuilt = "building the" in log
    print("environments rebuilt in the last re-run:", "yes" if rebuilt else "no")


if __name__ == "__main__":
    main()
