"""On a GPU: the harness's CUDA medians against triton.testing.do_bench on the same kernels.

Usage: python benchmarks/gpu/check_do_bench.py OUT_DIR

Runs benchmarks/gpu/bench_gpu.py through the harness (both sides the same code, so each side's
median is an independent measurement) and times the same callables with do_bench
(return_mode="median"). Writes OUT_DIR/gpu_check.json and prints a table.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from workbench.bench.roofline import gpu_peak, roofline  # noqa: E402
from workbench.bench.runner import Settings, SideSpec, run  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    import torch
    import triton.testing

    file = ROOT / "benchmarks" / "gpu" / "bench_gpu.py"
    result = run(
        file,
        SideSpec("baseline"),
        SideSpec("patched"),
        Settings(budget=10, min_effect=0.02, threads=None),
    )
    spec = importlib.util.spec_from_file_location("bench_gpu", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name = torch.cuda.get_device_name()
    peak = gpu_peak(name)
    rows = []
    for case in result.cases:
        c = case.comparison
        fn = getattr(module, case.bench)(**{k: v for k, v in case.params.items()})
        ms = triton.testing.do_bench(fn, return_mode="median")
        harness_ms = [c.baseline.median_ns / 1e6, c.patched.median_ns / 1e6]
        roof = (
            roofline(
                c.baseline.median_ns / 1e9,
                case.bytes_moved,
                case.flops,
                peak,
                case.params.get("dtype"),
            )
            if peak
            else None
        )
        rows.append(
            {
                "case": case.id,
                "do_bench_ms": ms,
                "harness_ms": harness_ms,
                "diff_pct": [100 * (h / ms - 1) for h in harness_ms],
                "verdict_identical_sides": c.verdict,
                "ratio": c.ratio,
                "ci": [c.ci_low, c.ci_high],
                "rounds": c.rounds,
                "gbs": roof.gbs if roof else None,
                "pct_bandwidth": roof.pct_bandwidth if roof else None,
                "tflops": roof.tflops if roof else None,
                "pct_flops": roof.pct_flops if roof else None,
            }
        )
    doc = {
        "device": name,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "peak": peak.__dict__ if peak else None,
        "rows": rows,
    }
    (out / "gpu_check.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
