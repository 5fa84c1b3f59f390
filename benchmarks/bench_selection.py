"""Does the selected test subset catch real breakage in torchao, and how much faster is it?

Usage: python benchmarks/bench_selection.py --url /path/to/a/clone/of/pytorch/ao
           [--suite-timeout 2400] [--skip-suite] [--map] [--workspace DIR]

In a throw-away workspace (this checkout's ao recipe, an empty series): fetch, build both sides
(python-only), then for each mutation of a real torchao function (one module each, committed in
the patched worktree): `workbench tests run ao` on the selection, recording whether a regression
was reported and how long it took. Then the CPU-runnable suite once, the way torchao's CI runs it
(`pytest test --ignore=test/quantization/pt2e`), on the baseline side, for the time to compare.
With `--map`, first `workbench tests map ao` over the same tests as the suite (every test file
under test/ but test/quantization/pt2e), timed; the mutations then select node ids by the map.
`--workspace DIR` keeps the workspace (and its map) for the next invocation instead of a
throw-away one. Writes benchmarks/results/selection.json (selection-map.json with `--map`) and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench_series.py of this folder (a script's own folder is first on sys.path)
from bench_series import recipe_workspace

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "selection.json"

# (label, file, text, replacement): each breaks one real function of torchao v0.18.0.
MUTATIONS = [
    (
        "quantize_affine off by one",
        "torchao/quantization/quant_primitives.py",
        "_Round.apply(input * (1.0 / scale)) + zero_point, quant_min, quant_max",
        "_Round.apply(input * (1.0 / scale)) + zero_point + 1, quant_min, quant_max",
    ),
    (
        "dequantize_affine scale",
        "torchao/quantization/quant_primitives.py",
        "    dequant = dequant * scale\n",
        "    dequant = dequant * scale * 1.5\n",
    ),
    (
        "choose_qparams scale floor",
        "torchao/quantization/quant_primitives.py",
        "    scale = torch.clamp(scale, min=eps)\n",
        "    scale = torch.clamp(scale, min=eps) * 2\n",
    ),
    (
        "per-token int8 range",
        "torchao/quantization/utils.py",
        "    quant_max = 127\n",
        "    quant_max = 63\n",
    ),
    (
        "low-bit optimizer block scale",
        "torchao/optim/quant_utils.py",
        "scale = input.abs().amax(-1).clip(1e-12)",
        "scale = input.abs().amax(-1).clip(1e-12) * 2",
    ),
    (
        "low-bit optimizer dequant",
        "torchao/optim/quant_utils.py",
        "* scale.view(-1, 1)\n",
        "* scale.view(-1, 1) * 0.5\n",
    ),
]


def sh(*args: str, cwd: Path, env: dict, check: bool = True, timeout: float | None = None):
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--suite-timeout", type=float, default=2400)
    p.add_argument("--skip-suite", action="store_true")
    p.add_argument("--mutations", type=int, default=len(MUTATIONS), help="run the first N")
    p.add_argument("--only", help="run only the mutation whose label contains this")
    p.add_argument("--map", action="store_true", help="make a test map first; select by it")
    p.add_argument("--workspace", type=Path, help="keep the workspace here (reused if there)")
    p.add_argument(
        "--cold-compile",
        action="store_true",
        help="each timed run (suite, each selection) gets an empty TORCHINDUCTOR_CACHE_DIR, so "
        "none takes another's torch.compile results from the cache",
    )
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wb-selection-"))
    ws = args.workspace.resolve() if args.workspace else tmp / "wb"
    recipe_workspace(ws, "ao")
    env = {
        **os.environ,
        "WORKBENCH_ROOT": str(ws),
        "WORKBENCH_AO_URL": args.url,
        "TORCHAO_FORCE_SKIP_LOADING_SO_FILES": "1",
    }
    wb = [sys.executable, "-m", "workbench"]

    def compile_env(label: str) -> dict:
        if not args.cold_compile:
            return env
        cache = tmp / "inductor" / label.replace(" ", "-")
        shutil.rmtree(cache, ignore_errors=True)
        return {**env, "TORCHINDUCTOR_CACHE_DIR": str(cache)}

    sh(*wb, "upstream", "fetch", "ao", cwd=ws, env=env)
    t0 = time.perf_counter()
    sh(*wb, "build", "ao", cwd=ws, env=env)
    print(f"build: {time.perf_counter() - t0:.1f} s", flush=True)
    patched = ws / "upstreams" / "ao" / "patched"
    base_sha = sh("git", "rev-parse", "HEAD", cwd=patched, env=env).stdout.strip()
    sh("git", "reset", "-q", "--hard", base_sha, cwd=patched, env=env)
    mapped = None
    if args.map:
        base = ws / "upstreams" / "ao" / "base"
        paths = []

        def has_tests(c: Path) -> bool:
            return c.name.startswith("test_") or any(c.rglob("test_*.py"))

        for child in sorted(c for c in (base / "test").iterdir() if has_tests(c)):
            rel = child.relative_to(base).as_posix()
            if rel == "test/quantization":
                paths += [
                    c.relative_to(base).as_posix()
                    for c in sorted(child.iterdir())
                    if c.name != "pt2e" and has_tests(c)
                ]
            elif child.is_dir() or child.name.startswith("test_"):
                paths.append(rel)
        t0 = time.perf_counter()
        res = sh(*wb, "tests", "map", "ao", "--json", "--", *paths, cwd=ws, env=env, check=False)
        if res.returncode != 0:
            sys.exit(f"tests map failed: {res.stderr.strip()[-500:]}")
        mapped = {**json.loads(res.stdout), "wall_seconds": round(time.perf_counter() - t0, 1)}
        mapped.pop("collection_errors", None)
        print(json.dumps({"map": mapped}), flush=True)
    rows = []
    chosen = [m for m in MUTATIONS if args.only in m[0]] if args.only else MUTATIONS
    for label, file, old, new in chosen[: args.mutations]:
        sh("git", "reset", "-q", "--hard", base_sha, cwd=patched, env=env)
        target = patched / file
        text = target.read_text()
        if old not in text:
            sys.exit(f"mutation '{label}': text not found in {file}")
        target.write_text(text.replace(old, new, 1))
        sh("git", "commit", "-qam", f"Mutation: {label}", cwd=patched, env=env)
        sel = json.loads(sh(*wb, "tests", "select", "ao", "--json", cwd=ws, env=env).stdout)
        t0 = time.perf_counter()
        res = sh(*wb, "tests", "run", "ao", "--json", cwd=ws, env=compile_env(label))
        seconds = time.perf_counter() - t0
        doc = json.loads(res.stdout)
        row = {
            "mutation": label,
            "file": file,
            "selected": len(sel["tests"]),
            "caught": bool(doc["regressions"]),
            "regressions": len(doc["regressions"]),
            "counts": doc["counts"],
            "seconds": round(seconds, 1),
            "pytest_seconds": doc.get("seconds"),
            "selected_ids": [t["path"] for t in sel["tests"]][:40],
            "not_exercised": sel.get("not_exercised") or [],
            "by_map": bool(sel.get("map")),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    suite = None
    if not args.skip_suite:
        base = ws / "upstreams" / "ao" / "base"
        python = ws / ".workbench" / "envs" / "ao" / "baseline" / "bin" / "python"
        ini = tmp / "pytest.ini"
        ini.write_text("[pytest]\n")
        t0 = time.perf_counter()
        try:
            res = sh(
                str(python),
                "-m",
                "pytest",
                "-c",
                str(ini),
                f"--rootdir={base}",
                "test",
                "--ignore=test/quantization/pt2e",
                "--continue-on-collection-errors",
                "-q",
                "-p",
                "no:cacheprovider",
                cwd=base,
                env=compile_env("suite"),
                check=False,
                timeout=args.suite_timeout,
            )
            tail = res.stdout.strip().splitlines()[-1:] or [""]
            suite = {
                "seconds": round(time.perf_counter() - t0, 1),
                "summary": tail[0],
                "complete": True,
            }
        except subprocess.TimeoutExpired:
            suite = {
                "seconds": args.suite_timeout,
                "summary": "stopped at the timeout",
                "complete": False,
            }
        print(json.dumps({"suite": suite}), flush=True)
    results = RESULTS.with_name("selection-map.json") if args.map else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps({"map": mapped, "mutations": rows, "suite": suite}, indent=2) + "\n"
    )
    print("| mutation | module | selected files | caught | subset time | % of suite |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        pct = f"{100 * r['seconds'] / suite['seconds']:.1f}%" if suite else "–"
        if suite and not suite["complete"]:
            pct = "< " + pct
        print(
            f"| {r['mutation']} | `{r['file']}` | {r['selected']} | "
            f"{'yes' if r['caught'] else 'NO'} ({r['regressions']}) | {r['seconds']} s | {pct} |"
        )
    if not args.workspace:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
