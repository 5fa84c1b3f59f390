"""Time the series engine on a real upstream: fetch, re-fetch, apply, refresh, status, rebase.

Usage: python benchmarks/bench_series.py [--url URL_OR_PATH] [--name ao] [--onto main]

It builds a throw-away workspace in a temp folder (this checkout's recipes, an empty series),
drives the real ``workbench`` CLI in subprocesses, and prints one line per step with wall time.
The re-fetch step also counts git's network conversations (upload-pack runs) via GIT_TRACE2.
Point --url at a local clone of pytorch/ao to keep the network out of the figures.
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

ROOT = Path(__file__).resolve().parent.parent


def sh(cwd: Path, *args: str, env: dict | None = None) -> str:
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout + res.stderr


def timed(label: str, cwd: Path, *args: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = sh(cwd, *args, env=env)
    dt = time.perf_counter() - t0
    print(f"{label:<44} {dt:7.2f} s")
    return dt, out


def recipe_workspace(ws: Path, name: str) -> None:
    """Make ``ws`` a workspace holding this checkout's recipe of ``name`` (not its checkouts) and
    an empty series of it; a recipe already there is kept."""
    if not (ws / "upstreams" / name / "recipe.toml").is_file():
        shutil.copytree(
            ROOT / "upstreams" / name,
            ws / "upstreams" / name,
            ignore=shutil.ignore_patterns("src", "base", "patched"),
        )
    (ws / "patches" / name).mkdir(parents=True, exist_ok=True)
    (ws / "patches" / name / "series").write_text("")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="ao")
    p.add_argument("--url", help="clone URL or local path (default: the recipe's)")
    p.add_argument("--onto", default="main", help="ref to rebase onto")
    p.add_argument(
        "--edit",
        default="torchao/quantization/quant_primitives.py",
        help="file the synthetic patches touch",
    )
    p.add_argument(
        "--conflict-line",
        default='    "_choose_qparams_affine_floatx",',
        help="a line of --edit that the --onto ref changed: a patch edits it too, "
        "so the rebase must stop on a conflict ('' to skip)",
    )
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    ws = tmp / "wb"
    recipe_workspace(ws, args.name)
    env = {**os.environ, "WORKBENCH_ROOT": str(ws)}
    if args.url:
        env[f"WORKBENCH_{args.name.upper()}_URL"] = args.url
    wb = [sys.executable, "-m", "workbench"]
    try:
        timed("upstream fetch (clone, worktrees)", ws, *wb, "upstream", "fetch", args.name, env=env)
        trace = tmp / "trace.json"
        timed(
            "upstream fetch again",
            ws,
            *wb,
            "upstream",
            "fetch",
            args.name,
            env={**env, "GIT_TRACE2_EVENT": str(trace)},
        )
        talks = sum(
            1
            for ln in trace.read_text().splitlines()
            if json.loads(ln).get("event") == "start"
            and any("upload-pack" in a for a in json.loads(ln).get("argv", [])[:2])
        )
        print(f"{'  network conversations in the re-fetch':<44} {talks:7d}")
        patched = ws / "upstreams" / args.name / "patched"
        target = patched / args.edit
        for i in range(10):
            target.write_text(f"# workbench bench edit {i}\n" + target.read_text())
            sh(patched, "git", "commit", "-qam", f"Bench edit {i}", env=env)
        text = target.read_text()
        if args.conflict_line and args.conflict_line + "\n" in text:
            target.write_text(
                text.replace(args.conflict_line + "\n", args.conflict_line + "  # edited\n", 1)
            )
            sh(patched, "git", "commit", "-qam", "Edit a line upstream changed", env=env)
        timed(
            "patches refresh (10 commits → files)",
            ws,
            *wb,
            "patches",
            "refresh",
            args.name,
            env=env,
        )
        timed(
            "patches refresh (nothing changed)", ws, *wb, "patches", "refresh", args.name, env=env
        )
        timed(
            "patches apply (recreate + git am 10)", ws, *wb, "patches", "apply", args.name, env=env
        )
        timed(
            "patches status (with trial apply on head)",
            ws,
            *wb,
            "patches",
            "status",
            args.name,
            env=env,
        )
        _, out = timed(
            f"patches rebase --onto {args.onto}",
            ws,
            *wb,
            "patches",
            "rebase",
            args.name,
            "--onto",
            args.onto,
            env=env,
        )
        for line in out.strip().splitlines():
            print("  " + line[:200])
        if "--continue" in out:
            timed(
                "patches rebase --abort",
                ws,
                *wb,
                "patches",
                "rebase",
                args.name,
                "--abort",
                env=env,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
