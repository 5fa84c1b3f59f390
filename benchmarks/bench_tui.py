"""Time the TUI on a big store: start to first painted dashboard, keystroke to updated table.

Usage: python benchmarks/bench_tui.py [--items 20000] [--keys 60] [--tmux]

It builds a throw-away workspace (this checkout's recipes) whose store holds ``--items`` issues
and PRs spread over the three upstreams (written with the store's own upserts, as a sync does),
then:

* **start → first paint** (headless, in this process): from ``make_app`` to the moment the
  first page of the Issues list has been put on the screen (the app's ``paint_log``, written
  after the refresh that shows it). Python's imports are apart: ``import workbench.tui.app``
  is timed in a fresh interpreter.
* **start → first paint through a terminal** (``--tmux``): the real ``workbench`` binary in a
  120x40 tmux pane, from spawning the process to the first issue title in ``capture-pane``
  (polled every 10 ms, so the figure carries up to 10 ms of polling).
* **keystroke → updated table**: ``--keys`` keystrokes into the filter (words typed and
  deleted again), each from the key event to the refresh that shows the new first page and its
  count; p50/p95/max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.github.model import Item, PrStatus  # noqa: E402
from workbench.github.store import Store  # noqa: E402
from workbench.paths import Workspace  # noqa: E402

WORDS = [
    "scale",
    "quantize",
    "float8",
    "kernel",
    "sparsity",
    "optim",
    "clamp",
    "matmul",
    "int4",
    "int8",
    "layout",
    "tensor",
    "autograd",
    "compile",
    "export",
    "lowering",
    "cuda",
    "rocm",
    "tpu",
    "interpreter",
    "memory",
    "leak",
    "crash",
    "slow",
    "docs",
    "test",
    "flaky",
    "regression",
    "benchmark",
    "dtype",
    "bfloat16",
    "fp8",
    "moe",
    "attention",
    "conv",
]
LABELS = ["bug", "enhancement", "performance", "good first issue", "module: quantization"]
REPOS = ["pytorch/ao", "triton-lang/triton", "pytorch/xla"]


def fill(store: Store, n: int) -> None:
    rnd = random.Random(1)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    items, statuses = [], []
    for k in range(n):
        repo = REPOS[k % 3]
        number = k // 3 + 1
        pr = k % 3 == 0
        title = " ".join(rnd.choice(WORDS) for _ in range(6))
        body = " ".join(rnd.choice(WORDS) for _ in range(40))
        stamp = (now - timedelta(minutes=k * 7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        items.append(
            Item(
                repo,
                number,
                pr,
                title.capitalize(),
                body,
                "open" if k % 4 else "closed",
                f"user{k % 50}",
                tuple(rnd.sample(LABELS, rnd.randint(0, 2))),
                () if k % 5 else ("someone",),
                k % 9,
                stamp,
                stamp,
                None,
                f"https://github.com/{repo}/issues/{number}",
                pr and k % 7 == 0,
                (),
            )
        )
        if pr and k % 11 == 0:
            statuses.append(PrStatus(repo, number, "success", None, False, k % 2 == 0, k % 2 == 1))
    for start in range(0, n, 1000):
        store.upsert_items(items[start : start + 1000])
    store.index_pending()
    store.replace_pr_status(REPOS, statuses, "user0")
    for repo in REPOS:
        store.finish_pass(repo, watermark=None, etag=None, rate_remaining=4999, rate_reset=None)


def workspace(tmp: Path, n: int) -> Workspace:
    root = tmp / "ws"
    for name in ("ao", "triton", "xla"):
        (root / "upstreams" / name).mkdir(parents=True)
        shutil.copy(ROOT / "upstreams" / name / "recipe.toml", root / "upstreams" / name)
    ws = Workspace(root)
    with Store.open(ws) as store:
        fill(store, n)
        print(f"store: {store.count()} items in {ws.home / 'github.db'}")
    return ws


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def headless(ws: Workspace, keys: int) -> tuple[float, list[float]]:
    from workbench.tui.app import make_app

    t0 = time.perf_counter()
    app = make_app(ws, check_head=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.dashboard.paint_log:
            await asyncio.sleep(0.001)
        first = app.dashboard.paint_log[0][2] - t0
        while any(not w.is_finished for w in app.workers):
            await asyncio.sleep(0.01)
        await pilot.press("slash")
        typed = []
        rnd = random.Random(2)
        while len(typed) < keys:
            word = rnd.choice(WORDS)[: rnd.randint(3, 6)]
            typed += list(word) + ["backspace"] * len(word)
        latencies = []
        for key in typed[:keys]:
            before = app.dashboard.generation["issues"]
            shown = len(app.dashboard.paint_log)
            t = time.perf_counter()
            await pilot.press(key)
            assert app.dashboard.generation["issues"] == before + 1
            while not any(
                k == "issues" and g == before + 1 for k, g, _ in app.dashboard.paint_log[shown:]
            ):
                await asyncio.sleep(0.0005)
            done = next(s for k, g, s in app.dashboard.paint_log[shown:] if g == before + 1)
            latencies.append(done - t)
    return first, latencies


def import_time() -> float:
    code = (
        "import time; t=time.perf_counter(); import workbench.tui.app; print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def tmux_first_paint(ws: Workspace) -> float | None:
    tmux = shutil.which("tmux")
    binary = Path(sys.executable).parent / "workbench"
    if not tmux or not binary.exists():
        print("tmux or the workbench script is missing: terminal figure skipped")
        return None
    sock = ws.root / "tmux.sock"
    env = f"env WORKBENCH_ROOT={ws.root} PYTHONPATH={os.environ.get('PYTHONPATH', '')} TERM=xterm-256color"
    t0 = time.perf_counter()
    subprocess.run(
        [tmux, "-S", str(sock), "new-session", "-d", "-x", "120", "-y", "40", f"{env} {binary}"],
        check=True,
    )
    try:
        while time.perf_counter() - t0 < 30:
            pane = subprocess.run(
                [tmux, "-S", str(sock), "capture-pane", "-p"], capture_output=True, text=True
            ).stdout
            if " shown" in pane and "ao  " in pane:  # the count beside the filter and a row
                return time.perf_counter() - t0
            time.sleep(0.01)
        return None
    finally:
        subprocess.run([tmux, "-S", str(sock), "kill-server"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--tmux", action="store_true", help="also time the real binary in tmux")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp), args.items)
        os.environ["WORKBENCH_ROOT"] = str(ws.root)
        print(f"import workbench.tui.app (fresh interpreter): {import_time() * 1000:.0f} ms")
        first, lat = asyncio.run(headless(ws, args.keys))
        print(f"start -> first painted dashboard (headless): {first * 1000:.0f} ms")
        ms = [x * 1000 for x in lat]
        print(
            f"keystroke -> updated table over {len(ms)} keys: p50 {statistics.median(ms):.1f} ms, "
            f"p95 {pct(ms, 0.95):.1f} ms, max {max(ms):.1f} ms"
        )
        if args.tmux:
            t = tmux_first_paint(ws)
            if t is not None:
                print(f"process start -> first rows in a tmux pane: {t * 1000:.0f} ms")


if __name__ == "__main__":
    main()
