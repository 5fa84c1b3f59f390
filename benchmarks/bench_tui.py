"""Time the TUI on a big store: start to first painted dashboard, keystroke to updated table.

Usage: python benchmarks/bench_tui.py [--items 20000] [--keys 60] [--tmux]
       python benchmarks/bench_tui.py --draft AO_URL [--opens 5] [--cases 12]

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

``--draft AO_URL`` times the PR draft preview (key ``d``) instead, at 160x45, on a workspace
with real torchao cloned from ``AO_URL`` (a local mirror will do): one commit in
``upstreams/ao/patched`` (``_quantize_affine``'s comment), ``patches refresh``, and a tests and
a bench result of that series written in the shape the nox sessions write (120 selected tests,
``--cases`` bench cases), so the draft quotes both. Each of ``--opens`` presses of ``d`` is timed to the
preview on screen and to the refresh that shows the draft in it; then the same preview text is
drawn by Textual's ``Markdown`` widget (how the preview drew it before) in a screen of the
same size, for comparison.
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


QUANT = "torchao/quantization/quant_primitives.py"


def draft_workspace(tmp: Path, ao_url: str, n_cases: int = 12) -> Workspace:
    """ao at its pin from ``ao_url``, a one-patch series, and a tests and a bench result of it."""
    import json

    from workbench.config import load_recipe
    from workbench.gitops.engine import SeriesEngine

    root = tmp / "ws"
    shutil.copytree(ROOT / "upstreams" / "ao", root / "upstreams" / "ao")
    (root / "patches" / "ao").mkdir(parents=True)
    shutil.copy(ROOT / "patches" / "ao" / "series", root / "patches" / "ao")
    env = {**os.environ, "WORKBENCH_ROOT": str(root), "WORKBENCH_AO_URL": ao_url}
    cli = [sys.executable, "-m", "workbench"]
    subprocess.run([*cli, "upstream", "fetch", "ao"], env=env, check=True, capture_output=True)
    patched = root / "upstreams" / "ao" / "patched"
    source = patched / QUANT
    text = source.read_text()
    source.write_text(text.replace("connected with\n", "connected with (checked once)\n", 1))
    git = ["git", "-C", str(patched), "-c", "user.name=bench", "-c", "user.email=bench@example"]
    subprocess.run([*git, "commit", "-qam", "Fix _quantize_affine's comment"], check=True)
    subprocess.run([*cli, "patches", "refresh", "ao"], env=env, check=True, capture_output=True)
    ws = Workspace(root)
    digest = SeriesEngine(ws, load_recipe(ws, "ao")).series().digest()
    names = ["quantize_affine", "dequantize_affine", "choose_qparams", "fake_quantize"]
    tests = [
        f"test/quantization/test_quant_primitives.py::TestQuantPrimitives::test_{n}_{i}"
        for n in names
        for i in range(30)
    ]
    doc = {
        "schema": 1,
        "kind": "tests",
        "upstream": "ao",
        "started": "2026-12-05T10:15:00+00:00",
        "device": "cpu",
        "device_note": "GPU-only tests skip themselves.",
        "series_digest": digest,
        "selection": [{"path": t, "reasons": [f"runs {QUANT}::_quantize_affine"]} for t in tests],
        "env": {},
        "versions": {"torch": "2.13.0"},
        "counts": {"passed": 96, "failed": 0, "error": 0, "skipped": 24},
        "skipped_by_reason": {"CUDA not available": 20, "requires float8 support": 4},
        "regressions": [],
        "preexisting": [],
        "map": {"commit": "5f2baf9d575c", "tests": 5210, "device": "cpu"},
    }
    folder = ws.runs("ao") / "20261205-101500-tests"
    folder.mkdir(parents=True)
    (folder / "tests.json").write_text(json.dumps(doc))
    (folder / "selected.txt").write_text("\n".join(tests))
    files = [
        ("bench_quant_primitives.py", "quantize_affine"),
        ("bench_quant_primitives.py", "dequantize_affine"),
        ("bench_scaled_int8_mm.py", "scaled_int8_mm"),
        ("bench_fp8_tensorwise.py", "fp8_tensorwise"),
    ]
    cases = []
    for i, (file, fn) in enumerate((files * n_cases)[:n_cases]):
        r = 0.97 + 0.01 * (i % 5)
        cases.append(
            {
                "id": f"{fn}[shape={2 ** (10 + i)}]",
                "file": file,
                "ratio": r,
                "ci": [r - 0.02, r + 0.02],
                "p_value": 0.2,
                "verdict": "unchanged",
                "processes": {"baseline": 8, "patched": 8},
                "baseline": {"median_ns": 1.2e6},
                "patched": {"median_ns": 1.2e6 * r},
                "outputs": {"match": "bitwise", "max_abs_diff": 0.0, "sqnr_db": None},
                "changed_code": [f"{QUANT}::_quantize_affine"] if i % 4 == 0 else [],
                "may_run": [],
            }
        )
    bench = {
        "schema": 2,
        "kind": "bench",
        "upstream": "ao",
        "series_digest": digest,
        "command": "workbench bench run ao --all",
        "files": sorted({f for f, _ in files}),
        "started": "2026-12-05T10:30:00+00:00",
        "device": "cpu",
        "settings": {"budget": 10.0, "min_effect": 0.02},
        "sides": {"baseline": {"env": {}}, "patched": {"env": {"python": "3.11"}}},
        "summary": {"unchanged": len(cases)},
        "changed_blocks": [f"{QUANT}::_quantize_affine"],
        "changed_not_traceable": [],
        "geomean": {"ratio": 0.99, "ci": [0.98, 1.0], "cases": 3},
        "cases": cases,
    }
    folder = ws.runs("ao") / "20261205-103000-bench"
    folder.mkdir(parents=True)
    (folder / "bench.json").write_text(json.dumps(bench))
    return ws


async def draft_opens(ws: Workspace, opens: int) -> dict[str, list[float]]:
    """Per press of ``d``: seconds to the preview on screen and to the draft painted in it;
    then per push of a screen that draws the same preview with Textual's Markdown widget (the
    preview's way before), seconds to the refresh that shows it; all in the same app."""
    from textual.app import ComposeResult
    from textual.containers import Vertical, VerticalScroll
    from textual.screen import ModalScreen
    from textual.widgets import Markdown

    from workbench.tui.app import make_app
    from workbench.tui.screens import DraftScreen

    class MarkdownPreview(ModalScreen[None]):
        """The old preview's layout: a Markdown widget in a scroll view, in a 90% frame."""

        DEFAULT_CSS = """
        MarkdownPreview { align: center middle; }
        MarkdownPreview > Vertical { width: 90%; height: 90%; border: thick $primary; }
        """

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text, self.shown_at = text, 0.0

        def compose(self) -> ComposeResult:
            with Vertical(), VerticalScroll():
                yield Markdown(id="md")

        async def on_mount(self) -> None:
            await self.query_one(Markdown).update(self.text)
            self.call_after_refresh(self._shown)

        def _shown(self) -> None:
            self.shown_at = time.perf_counter()

    app = make_app(ws)  # as `workbench` runs: the Patches tab tries the series on ao's head
    out: dict[str, list[float]] = {"on screen": [], "painted": [], "widget": []}
    async with app.run_test(size=(160, 45)) as pilot:
        while any(not w.is_finished for w in app.workers) or not app.dashboard.patches.filled:
            await asyncio.sleep(0.01)
        app.dashboard.set_filter(upstream="ao")
        preview = ""
        for _ in range(opens):
            t = time.perf_counter()
            await pilot.press("d")
            while not isinstance(app.screen, DraftScreen) or app.screen.shown_at is None:
                await asyncio.sleep(0.001)
            screen = app.screen
            assert screen.opened_at is not None and screen.shown_at is not None
            out["on screen"].append(screen.opened_at - t)
            out["painted"].append(screen.shown_at - t)
            preview = screen.preview
            await pilot.press("escape")
            await pilot.pause(0.2)
        for _ in range(opens):
            old = MarkdownPreview(preview)
            t = time.perf_counter()
            await app.push_screen(old)
            while not old.shown_at:
                await asyncio.sleep(0.001)
            out["widget"].append(old.shown_at - t)
            app.pop_screen()
            await pilot.pause(0.2)
    out["chars"] = [float(len(preview))]
    return out


def make_draft_times(ws: Workspace, opens: int) -> list[float]:
    """Seconds per ``make_draft`` (what the preview's worker calls), the store opened each time."""
    from workbench.github.store import Store
    from workbench.pr import make_draft

    out = []
    for _ in range(opens):
        t = time.perf_counter()
        with Store.open(ws) as store:
            make_draft(ws, "ao", store=store)
        out.append(time.perf_counter() - t)
    return out


def draft_main(ao_url: str, opens: int, n_cases: int) -> None:
    def ms(values: list[float]) -> str:
        rest = values[1:] or values
        return (
            f"first {values[0] * 1000:.0f} ms, then median {statistics.median(rest) * 1000:.0f} "
            f"ms, max {max(rest) * 1000:.0f} ms"
        )

    with tempfile.TemporaryDirectory() as tmp:
        ws = draft_workspace(Path(tmp), ao_url, n_cases)
        os.environ["WORKBENCH_ROOT"] = str(ws.root)
        times = asyncio.run(draft_opens(ws, opens))
        print(f"draft preview: {times['chars'][0]:,.0f} characters of Markdown, at 160x45")
        print(f"d -> preview on screen ('Drafting...'): {ms(times['on screen'])}")
        print(f"d -> draft painted in it: {ms(times['painted'])}")
        print(f"make_draft alone (its worker): {ms(make_draft_times(ws, opens))}")
        print(f"the same preview in Textual's Markdown widget (before): {ms(times['widget'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--tmux", action="store_true", help="also time the real binary in tmux")
    parser.add_argument("--draft", metavar="AO_URL", help="time the draft preview instead")
    parser.add_argument("--opens", type=int, default=5, help="presses of d with --draft")
    parser.add_argument("--cases", type=int, default=12, help="bench cases the draft quotes")
    args = parser.parse_args()
    if args.draft:
        draft_main(args.draft, args.opens, args.cases)
        return
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
