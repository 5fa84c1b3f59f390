"""Which process-to-process variance do forked children sample, against fresh interpreters?

Usage:
    python benchmarks/bench_process_variance.py --python PY [--fresh 10] [--parents 4] [--children 6]
    python benchmarks/bench_process_variance.py --thresholds    # which glibc settings take effect

PY is the interpreter of a built ao environment (`.workbench/envs/ao/baseline/bin/python`).
Every process times torchao's `quantize_affine` on 2^21 fp32 elements (one thread, the case
`quantize_affine[n=2097152,dtype=float32,device=cpu]` of `upstreams/ao/benches/`): the median
of 100 calls after 5 warm-up calls, and the minor page faults per call. Rows:

    fresh                 fresh interpreters, as they come
    fresh, hash seed 0    PYTHONHASHSEED=0 in every one
    fresh, no ASLR        the same address layout in every one (setarch -R)
    fresh, mmap alone     MALLOC_MMAP_THRESHOLD_=32 MiB only (glibc: the trim threshold stays
                          at 128 KiB, no longer adjusted)
    fresh, trim alone     MALLOC_TRIM_THRESHOLD_=1 GiB only (the mmap threshold stays 128 KiB)
    fresh, pinned         both, as the harness sets them by default (`processes.PINNED_MALLOC`)
    fresh, 64 MiB / 1 GiB both, the mmap threshold above glibc's 32 MiB bound
    forked                children forked from a few parents that imported torch and torchao,
                          each child setting the case up itself, as the bench workers do
    forked, pinned        the same with the harness's malloc settings

Prints a markdown table: per row, the medians' range and spread, and the page faults' range.

`--thresholds`: in fresh interpreters of this Python, the page faults of one malloc, memset and
free of 8 to 63 MiB, after two such cycles (the first may move a dynamic threshold, the second
grow the heap), and of eight 16 MiB blocks at once (128 MiB freed: a trim threshold below that
gives the heap back), under each setting: a block that stays on the heap costs no faults.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

from workbench.bench.processes import PINNED_MALLOC

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


PROBE = r"""
import ctypes, json, resource
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
out = {}
for mib, count in ((8, 1), (16, 1), (31, 1), (33, 1), (63, 1), (16, 8)):
    n = mib << 20
    for i in range(3):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ps = [libc.malloc(n) for _ in range(count)]
        for p in ps:
            libc.memset(p, 1, n)
        for p in ps:
            libc.free(p)
    out[f"{count}x{mib}"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
print(json.dumps(out))
"""


def thresholds() -> None:
    """Page faults of a malloc/memset/free cycle after two, per setting."""
    settings = [
        ("as it comes", {}),
        ("MALLOC_MMAP_THRESHOLD_=32 MiB alone", {"MALLOC_MMAP_THRESHOLD_": str(32 << 20)}),
        ("MALLOC_TRIM_THRESHOLD_=1 GiB alone", {"MALLOC_TRIM_THRESHOLD_": str(1 << 30)}),
        (
            "32 MiB / 64 MiB (glibc's own pair)",
            {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)},
        ),
        ("pinned: 32 MiB / 1 GiB (the harness)", dict(PINNED_MALLOC)),
        (
            "64 MiB / 1 GiB",
            {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)},
        ),
    ]
    print(f"glibc {os.confstr('CS_GNU_LIBC_VERSION')}")
    print("| setting | 8 MiB | 16 MiB | 31 MiB | 33 MiB | 63 MiB | 8 x 16 MiB |")
    print("|---|---|---|---|---|---|---|")
    for label, env in settings:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        out = subprocess.run(
            [sys.executable, "-c", PROBE],
            env={**clean, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        faults = json.loads(out.stdout)
        print(f"| {label} | " + " | ".join(str(v) for v in faults.values()) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python")
    p.add_argument("--fresh", type=int, default=10)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--children", type=int, default=6)
    p.add_argument("--thresholds", action="store_true", help="only the glibc settings probe")
    args = p.parse_args()
    if args.thresholds:
        thresholds()
        return
    if not args.python:
        p.error("--python is required")
    rows = [("fresh", {}, []), ("fresh, hash seed 0", {"PYTHONHASHSEED": "0"}, [])]
    if shutil.which("setarch"):
        rows.append(("fresh, no ASLR", {}, ["setarch", os.uname().machine, "-R"]))
    mmap, trim = PINNED_MALLOC["MALLOC_MMAP_THRESHOLD_"], PINNED_MALLOC["MALLOC_TRIM_THRESHOLD_"]
    rows += [
        ("fresh, mmap threshold alone", {"MALLOC_MMAP_THRESHOLD_": mmap}, []),
        ("fresh, trim threshold alone", {"MALLOC_TRIM_THRESHOLD_": trim}, []),
        ("fresh, pinned (the harness's default)", dict(PINNED_MALLOC), []),
        (
            "fresh, 64 MiB / 1 GiB",
            {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)},
            [],
        ),
    ]
    print(
        "| processes | n | median of 100 calls: min / median / max | spread (max/min - 1) | "
        "spread within one parent's children | page faults per call |"
    )
    print("|---|---|---|---|---|---|")
    for label, env, prefix in rows:
        groups = [[r] for _ in range(args.fresh) for r in _run(args.python, 0, env, prefix)]
        print(_row(label, groups), flush=True)
    details = []
    for name, env in (("", {}), (", pinned", dict(PINNED_MALLOC))):
        forked = [_run(args.python, args.children, env, []) for _ in range(args.parents)]
        label = f"forked{name}: {args.parents} parents x {args.children} children"
        print(_row(label, forked), flush=True)
        for i, g in enumerate(forked):
            ms = ", ".join(f"{r['median_ms']:.1f}" for r in g)
            faults = ", ".join(f"{r['faults']:.0f}" for r in g)
            details.append(f"forked{name}, parent {i + 1}: {ms} ms; page faults per call {faults}")
    print("\n".join(details))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
