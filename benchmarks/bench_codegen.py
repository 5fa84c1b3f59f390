"""How long `workbench codegen` takes: one kernel for four targets, and a re-run of a whole upstream.

Usage:
    python benchmarks/bench_codegen.py kernel [--repeat 5]
    WORKBENCH_AO_URL=/path/to/ao python benchmarks/bench_codegen.py upstream --name ao [--runs 3]

`kernel`: in one process (the way the side's compiler runs), a first kernel is compiled for
sm_80, sm_90, sm_100 and gfx942 (the cold figure: the first compile in a process pays for
loading the backends), then `--repeat` other specializations each for the four targets, with SASS
disassembly, uncached (the warm figure). `upstream`: `workbench codegen NAME --json` `--runs`
times with nothing changed; each run's wall time and how many compiles it made and took from the
cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("sm_80", "sm_90", "sm_100", "gfx942")
KERNEL = textwrap.dedent(
    """\
    import triton
    import triton.language as tl


    @triton.jit
    def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)
    """
)


def kernel(repeat: int) -> None:
    os.environ.update(TRITON_DISABLE_LINE_INFO="1", TRITON_DUMP_PTXAS_LOG="1")
    os.environ.update(TRITON_ALWAYS_COMPILE="1", TRITON_DEFAULT_FP_FUSION="1")
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        Path(tmp, "bench_kernel_mod.py").write_text(KERNEL)
        os.environ["TRITON_CACHE_DIR"] = str(Path(tmp, "triton"))
        sys.path.insert(0, str(ROOT))
        import bench_kernel_mod

        from workbench.codegen.compiler import Compiler, decode

        compiler = Compiler(Path(tmp, "cache"), ())
        fn = bench_kernel_mod.add_kernel
        ptr = decode({"tensor": "float32", "aligned": True})

        def four(block: int) -> float:
            t = time.perf_counter()
            pending = [
                compiler.compile(fn, target, [ptr, ptr, ptr, 4096], {"BLOCK": block})
                for target in TARGETS
            ]
            for _, future in pending:
                if future is not None:
                    future.result()
            return time.perf_counter() - t

        cold = four(1024)
        warm = [four(block) for block in (128, 256, 512, 2048, 4096, 8192, 64)[:repeat]]
        print(f"one kernel x {len(TARGETS)} targets, first in the process: {cold:.2f} s")
        print(
            f"one kernel x {len(TARGETS)} targets, warm process, uncached: median "
            f"{statistics.median(warm):.2f} s (min {min(warm):.2f}, max {max(warm):.2f}, n={len(warm)})"
        )
        t = time.perf_counter()
        cached = [
            compiler.compile(fn, target, [ptr, ptr, ptr, 4096], {"BLOCK": 1024})
            for target in TARGETS
        ]
        hit = time.perf_counter() - t
        assert all(r["cached"] for r, _ in cached)
        print(f"the same four from the cache: {hit * 1000:.0f} ms")


def upstream(name: str, runs: int) -> None:
    for i in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "workbench", "codegen", name, "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            raise SystemExit(proc.stderr.strip().splitlines()[-1])
        doc = json.loads(proc.stdout)
        c = doc["compile"]
        print(
            f"run {i + 1}: {wall:.1f} s wall (recording {doc['timings']['record_baseline']:.1f} + "
            f"{doc['timings']['record_patched']:.1f} s, compiling {doc['timings']['compile']:.1f} s); "
            f"compiled {c['baseline']['compiled']}+{c['patched']['compiled']}, "
            f"from the cache {c['baseline']['cached']}+{c['patched']['cached']}"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kernel")
    k.add_argument("--repeat", type=int, default=5)
    u = sub.add_parser("upstream")
    u.add_argument("--name", default="ao")
    u.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    if args.what == "kernel":
        kernel(args.repeat)
    else:
        upstream(args.name, args.runs)


if __name__ == "__main__":
    main()
