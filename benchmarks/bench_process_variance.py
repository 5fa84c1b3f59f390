"""Which process-to-process variance do forked children sample, against fresh interpreters?

Usage:
    python benchmarks/bench_process_variance.py --python PY [--fresh 10] [--parents 4] [--children 6]

PY is the interpreter of a built ao environment (`.workbench/envs/ao/baseline/bin/python`).
Every process times torchao's `quantize_affine` on 2^21 fp32 elements (one thread, the case
`quantize_affine[n=2097152,dtype=float32,device=cpu]` of `upstreams/ao/benches/`): the median
of 100 calls after 5 warm-up calls, and the minor page faults per call. Rows:

    fresh                 fresh interpreters, as they come
    fresh, hash seed 0    PYTHONHASHSEED=0 in every one
    fresh, no ASLR        the same address layout in every one (setarch -R)
    fresh, malloc fixed   MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ fixed (glibc)
    forked                children forked from a few parents that imported torch and torchao,
                          each child setting the case up itself, as the bench workers do

Prints a markdown table: per row, the medians' range and spread, and the page faults' range.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, resource, statistics, sys, time
import torch
from torchao.quantization.quant_primitives import MappingType, choose_qparams_affine, quantize_affine
torch.set_num_threads(1)

def measure():
    torch.manual_seed(0)
    x = torch.randn(2**21 // 256, 256)
    s, z = choose_qparams_affine(x, MappingType.ASYMMETRIC, (1, 256), torch.uint8)
    f = lambda: quantize_affine(x, (1, 256), s, z, torch.uint8)
    for _ in range(5):
        f()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ts = []
    for _ in range(100):
        t = time.perf_counter_ns(); f(); ts.append(time.perf_counter_ns() - t)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 100
    return {"median_ms": statistics.median(ts) / 1e6, "faults": faults, "pid": os.getpid()}

children = int(sys.argv[1])
if children == 0:
    print(json.dumps([measure()]))
else:
    out = []
    for _ in range(children):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, json.dumps(measure()).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 4096):
            data += chunk
        os.waitpid(pid, 0)
        out.append(json.loads(data))
    print(json.dumps(out))
"""


def _run(python: str, children: int, env: dict[str, str], prefix: list[str]) -> list[dict]:
    full = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "TORCHAO_FORCE_SKIP_LOADING_SO_FILES": "1",
        **env,
    }
    out = subprocess.run(
        [*prefix, python, "-c", CHILD, str(children)],
        env=full,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(label: str, groups: list[list[dict]]) -> str:
    medians = [r["median_ms"] for g in groups for r in g]
    faults = [r["faults"] for g in groups for r in g]
    within = [
        max(r["median_ms"] for r in g) / min(r["median_ms"] for r in g) - 1
        for g in groups
        if len(g) > 1
    ]
    within_text = f"{100 * max(within):.0f}%" if within else "–"
    return (
        f"| {label} | {len(medians)} | {min(medians):.1f} / {statistics.median(medians):.1f} / "
        f"{max(medians):.1f} ms | {100 * (max(medians) / min(medians) - 1):.0f}% | "
        f"{within_text} | {min(faults):.0f}-{max(faults):.0f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", required=True)
    p.add_argument("--fresh", type=int, default=10)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--children", type=int, default=6)
    args = p.parse_args()
    rows = [("fresh", {}, []), ("fresh, hash seed 0", {"PYTHONHASHSEED": "0"}, [])]
    if shutil.which("setarch"):
        rows.append(("fresh, no ASLR", {}, ["setarch", os.uname().machine, "-R"]))
    rows.append(
        (
            "fresh, malloc fixed",
            {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)},
            [],
        )
    )
    print(
        "| processes | n | median of 100 calls: min / median / max | spread (max/min - 1) | "
        "spread within one parent's children | page faults per call |"
    )
    print("|---|---|---|---|---|---|")
    for label, env, prefix in rows:
        groups = [[r] for _ in range(args.fresh) for r in _run(args.python, 0, env, prefix)]
        print(_row(label, groups), flush=True)
    forked = [_run(args.python, args.children, {}, []) for _ in range(args.parents)]
    label = f"forked: {args.parents} parents x {args.children} children"
    print(_row(label, forked), flush=True)
    for i, g in enumerate(forked):
        ms = ", ".join(f"{r['median_ms']:.1f}" for r in g)
        faults = ", ".join(f"{r['faults']:.0f}" for r in g)
        print(f"parent {i + 1}: {ms} ms; page faults per call {faults}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
