"""The bench runner end to end on CPU: two tiny pure-Python modules with a real speed difference."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from workbench.bench import report, stats
from workbench.bench.api import bench, specs_in
from workbench.bench.processes import PINNED_MALLOC
from workbench.bench.roofline import Peak, gpu_peak, roofline
from workbench.bench.runner import Settings, SideSpec, rounds_per_block, run

WORK = "def work(n={n}):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s\n"

BENCH_FILE = """\
from workbench.bench import bench, skip


@bench(params={"size": [200, 400]}, bytes_moved=lambda size: size * 8)
def loop(size):
    import wl
    return lambda: wl.work(size * wl.FACTOR)


@bench
def needs_gpu():
    skip("needs CUDA")
"""


@pytest.fixture
def sides(tmp_path: Path) -> dict[str, Path]:
    """``fast/wl.py`` and ``slow/wl.py``: the same function, the slow one doing 3x the work."""
    fast = write(tmp_path / "fast" / "wl.py", WORK.format(n=1) + "FACTOR = 1\n").parent
    slow = write(tmp_path / "slow" / "wl.py", WORK.format(n=1) + "FACTOR = 3\n").parent
    bench_file = write(tmp_path / "bench_wl.py", BENCH_FILE)
    return {"fast": fast, "slow": slow, "file": bench_file}


def test_bench_decorator_expands_params():
    @bench(params={"n": [1, 2], "dtype": ["a", "b"]}, flops=lambda n, dtype: 2 * n)
    def f(n, dtype):
        return lambda: None

    @bench
    def g():
        return lambda: None

    specs = specs_in({"f": f, "g": g, "other": 1})
    assert [s.name for s in specs] == ["f", "g"]
    cases = specs[0].cases()
    assert [c.id for c in cases] == [
        "f[n=1,dtype=a]",
        "f[n=1,dtype=b]",
        "f[n=2,dtype=a]",
        "f[n=2,dtype=b]",
    ]
    assert cases[2].figure("flops") == 4.0 and cases[0].figure("bytes_moved") is None
    assert specs[1].cases()[0].id == "g"
    with pytest.raises(TypeError, match="non-empty list"):
        bench(params={"n": []})(lambda n: None)


@pytest.mark.timed
def test_slower_patched_side_is_called_slower(sides):
    result = run(
        sides["file"],
        SideSpec("baseline", path=str(sides["fast"])),
        SideSpec("patched", path=str(sides["slow"])),
        Settings(budget=1.5, min_effect=0.05),
        only="loop[size=200]",
    )
    [case] = result.cases
    c = case.comparison
    assert c.verdict == "slower"
    assert c.ratio > 1.5  # three times the work; the machine decides how much slower exactly
    assert c.ci_low > 1.05
    assert case.number and case.number >= 1
    assert len(case.baseline_rounds) == len(case.patched_rounds) == len(case.blocks) >= 2
    # Every process pair started for the file took part; each visit forked fresh children.
    assert case.processes == result.processes >= 8
    assert case.children >= case.processes
    # Each side really ran its own module.
    assert result.env["baseline"]["pythonpath_first"] == str(sides["fast"])
    assert result.env["patched"]["pythonpath_first"] == str(sides["slow"])


@pytest.mark.timed
def test_identical_sides_are_not_called_faster_or_slower(sides):
    result = run(
        sides["file"],
        SideSpec("baseline", path=str(sides["fast"])),
        SideSpec("patched", path=str(sides["fast"])),
        Settings(budget=1.5, min_effect=0.25),
        only="loop[size=400]",
    )
    assert result.cases[0].comparison.verdict in ("unchanged", "inconclusive")


def test_separate_interpreters_and_skips(sides, tmp_path):
    result = run(
        sides["file"],
        SideSpec("baseline", python=sys.executable, env={"PYTHONPATH": str(sides["fast"])}),
        SideSpec("patched", python=sys.executable, env={"PYTHONPATH": str(sides["slow"])}),
        Settings(budget=0.5, min_effect=0.05),
        only="needs_gpu",
    )
    [case] = result.cases
    assert case.skipped == "needs CUDA" and case.comparison is None


def test_allocator_pinned_by_default_and_passed_through_on_request(sides, monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "4096")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1:glibc.rtld.nns=2")
    seen = {}
    for allocator in ("pinned", "default"):
        result = run(
            sides["file"],
            SideSpec("baseline", path=str(sides["fast"])),
            SideSpec("patched", path=str(sides["slow"])),
            Settings(budget=0.2, processes=1, adaptive=False, allocator=allocator),
            only="loop[size=200]",
        )
        assert result.env["baseline"]["malloc"] == result.env["patched"]["malloc"]
        seen[allocator] = result.env["patched"]["malloc"]
    # Pinned: the caller's malloc settings dropped, the thresholds fixed, other tunables kept.
    assert seen["pinned"] == {**PINNED_MALLOC, "GLIBC_TUNABLES": "glibc.rtld.nns=2"}
    assert int(PINNED_MALLOC["MALLOC_MMAP_THRESHOLD_"]) == 32 << 20  # glibc's bound on 64-bit
    # Default: what the caller set, untouched.
    assert seen["default"] == {
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_TRIM_THRESHOLD_": "4096",
        "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1:glibc.rtld.nns=2",
    }


def test_rounds_per_block_follows_startup_cost():
    # Forking and setting up a case is cheap: a round or two per visit of a pair.
    assert rounds_per_block(0.01, 0.125, 40, 0.25) == 1
    assert rounds_per_block(0.1, 0.125, 40, 0.25) == 2
    assert rounds_per_block(0.08, 0.025, 200, 0.25) == 5
    # A dear set-up: more rounds per visit, but never more than one cycle over the pairs allows.
    assert rounds_per_block(6.0, 0.125, 25, 0.25) == 25
    assert rounds_per_block(0.2, 0.025, 25, 0.25) == 13  # ceil of float 12.0…


DRAWN_ONCE = """\
import os

# Drawn once per process, when the process imports this module: about half the processes are
# three times slower than the others, running the same code (as an allocator's state or a
# memory layout can make them).
FACTOR = 3 if os.urandom(1)[0] < 128 else 1


def work(n):
    s = 0
    for i in range(n * FACTOR):
        s += i * i
    return s
"""

DRAWN_BENCH = """\
import os
from workbench.bench import bench


@bench
def drawn():
    import wl
    with open(os.environ["PIDS_FILE"], "a") as fh:
        fh.write(f"{os.getpid()} {os.getppid()}\\n")
    return lambda: wl.work(300)
"""


@pytest.mark.timed
def test_speed_drawn_once_per_process_never_gives_a_verdict(tmp_path, monkeypatch):
    """Same code on both sides, each process slow or fast by a draw at import: the verdict
    must not be faster or slower. The one-long-lived-pair reading of the same samples (rounds
    taken as independent, as the harness once did) calls a direction whenever the two processes
    of a pair drew differently."""
    code = write(tmp_path / "code" / "wl.py", DRAWN_ONCE).parent
    bench_file = write(tmp_path / "bench_drawn.py", DRAWN_BENCH)
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("PIDS_FILE", str(pids))
    result = run(
        bench_file,
        SideSpec("baseline", path=str(code)),
        SideSpec("patched", path=str(code)),
        Settings(budget=4.0, max_budget=4.0, min_effect=0.05, processes=12),
    )
    [case] = result.cases
    assert case.comparison.verdict not in (stats.FASTER, stats.SLOWER), case.comparison
    assert case.processes == 12
    # Each visit ran in a fresh child of its side's process: two children per visit, one more
    # per side for the untimed call that compares outputs, and as many parents as processes
    # started on both sides.
    lines = [ln.split() for ln in pids.read_text().splitlines()]
    assert len({pid for pid, _ in lines}) == len(lines) == 2 * (case.children + 1)
    assert len({ppid for _, ppid in lines}) == 2 * case.processes
    # The draw happened per process: some pairs' processes differ about threefold …
    base = stats.process_medians(case.baseline_rounds, case.blocks)
    patched = stats.process_medians(case.patched_rounds, case.blocks)
    differing = [b for b in base if max(base[b] / patched[b], patched[b] / base[b]) > 2]
    assert differing  # all twelve pairs drawing alike has a chance of 1 in 4096
    # … and one pair's rounds, read as independent evidence, give a confident wrong answer
    # (for pairs that ran the eight rounds a signed-rank p below 1% needs: on a loaded machine a
    # pair's share of the budget may buy fewer).
    rounds_of = {b: [i for i, blk in enumerate(case.blocks) if blk == b] for b in differing}
    enough = [b for b in differing if len(rounds_of[b]) >= 8]
    assert enough, {b: len(r) for b, r in rounds_of.items()}
    for b in enough:
        one_pair = stats.compare(
            [case.baseline_rounds[i] for i in rounds_of[b]],
            [case.patched_rounds[i] for i in rounds_of[b]],
            min_effect=0.05,
        )
        assert one_pair.verdict in (stats.FASTER, stats.SLOWER), one_pair


def test_reports_never_read_a_verdict_without_processes():
    case = {
        "id": "f[n=1]",
        "device": "cpu",
        "ratio": 0.577,
        "ci": [0.526, 0.633],
        "p_value": 0.001,
        "verdict": "faster",
        "baseline": {"median_ns": 1e6},
        "patched": {"median_ns": 5.77e5},
    }
    skipped = [
        {"id": f"f[n={n},device=cuda]", "device": "cuda", "skipped": "needs CUDA"} for n in (1, 2)
    ]
    doc = {
        "cases": [case, *skipped],
        "files": ["b.py"],
        "device": "CPU",
        "settings": {"budget": 10.0, "min_effect": 0.02},
        "sides": {"patched": {"env": {}}},
    }
    # A run from the one-pair-per-side harness: its "faster" rests on one process per side.
    md = report.to_markdown(doc)
    assert "**faster**" not in md and "| inconclusive |" in md
    assert "one long-lived process per side" in md
    assert "2 CUDA cases skipped: needs CUDA." in md and "`f[n=1,device=cuda]`" not in md
    assert report.summary_of(doc["cases"]) == {"inconclusive": 1, "skipped": 2}
    # Enough processes behind it: the verdict stands.
    case["processes"] = {"baseline": 8, "patched": 8}
    md = report.to_markdown(doc)
    assert "| 8 | **faster** |" in md and "No verdict" not in md


def test_roofline_figures():
    assert gpu_peak("NVIDIA H100 80GB HBM3").name == "NVIDIA H100 SXM"
    assert gpu_peak("NVIDIA H100 PCIe").name == "NVIDIA H100 PCIe"
    assert gpu_peak("NVIDIA H200").bandwidth_gbs == 4800
    assert gpu_peak("Some Unknown GPU") is None
    r = roofline(1e-3, bytes_moved=2e9, flops=1e12, peak=Peak("x", 4000, 100, 1000))
    assert r.gbs == pytest.approx(2000) and r.pct_bandwidth == pytest.approx(50)
    assert r.tflops == pytest.approx(1000) and r.pct_flops == pytest.approx(1000)
    r = roofline(
        1e-3, bytes_moved=2e9, flops=1e12, peak=Peak("x", 4000, 100, 1000), dtype="bfloat16"
    )
    assert r.pct_flops == pytest.approx(100)


@pytest.mark.timed
def test_cli_run_writes_reports_and_gates(sides, wb, tmp_path):
    out = tmp_path / "run1"
    res = wb(
        "bench",
        "run",
        "--file",
        str(sides["file"]),
        "--baseline-path",
        str(sides["fast"]),
        "--patched-path",
        str(sides["slow"]),
        "--only",
        "size=200",
        "--budget",
        "1",
        "--min-effect",
        "0.05",
        "--out",
        str(out),
        "--json",
        "--fail-on-slower",
    )
    assert res.code == 1, res.err
    assert "slower: loop[size=200]" in res.err
    doc = json.loads(res.out)
    assert doc == json.loads((out / "bench.json").read_text())
    assert doc["schema"] == 2 and doc["kind"] == "bench"
    [case] = doc["cases"]
    assert case["verdict"] == "slower" and case["ci"][0] > 1.05
    # Two paths and no series: every case is timed, none is matched against changed code.
    assert case["changed_code"] is None and doc["changed_blocks"] is None
    # The slow side sums three times as many squares: another result, said beside the speed.
    assert case["outputs"]["match"] == "differ" and "became" in case["outputs"]["detail"]
    assert doc["geomean"]["cases"] == 1 and doc["geomean"]["ci"][0] > 1.05
    assert len(case["baseline"]["samples_ns"]) == case["rounds"]
    assert case["roofline"]["patched"]["gbs"] > 0  # bytes_moved given: achieved bandwidth
    assert doc["sides"]["patched"]["path"] == str(sides["slow"])
    assert doc["sides"]["patched"]["env"]["threads"] == 1
    md = (out / "bench.md").read_text()
    assert md.startswith("| benchmark | baseline | patched | patched/baseline (95% CI) |")
    assert case["processes"]["baseline"] == case["processes"]["patched"] >= 8
    assert doc["processes"] >= 8 and doc["startup_seconds"] > 0
    assert "`loop[size=200]`" in md and "**slower**, outputs differ" in md
    assert "Geometric mean of patched/baseline over the 1 case(s) timed" in md
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
    # show re-renders the same markdown from the JSON.
    res = wb("bench", "show", str(out / "bench.json"), "--markdown")
    assert res.code == 0 and res.out == md
    res = wb("bench", "show", str(out / "bench.json"), "--png", str(tmp_path / "again.png"))
    assert res.code == 0 and (tmp_path / "again.png").exists()


def test_cli_bad_input_is_one_line_exit_2(sides, wb, tmp_path):
    cases = [
        (("bench", "run"), "needs NAME or --file"),
        (("bench", "run", "--file", str(sides["file"])), "say what to compare"),
        (
            ("bench", "run", "--file", str(sides["file"]), "--baseline-path", str(sides["fast"])),
            "go together",
        ),
        (
            (
                "bench",
                "run",
                "--file",
                str(tmp_path / "nope.py"),
                "--baseline-path",
                str(sides["fast"]),
                "--patched-path",
                str(sides["slow"]),
            ),
            "no bench file",
        ),
        (
            (
                "bench",
                "run",
                "--file",
                str(sides["file"]),
                "--baseline-path",
                str(sides["fast"]),
                "--patched-path",
                str(sides["slow"]),
                "--min-effect",
                "2",
            ),
            "--min-effect between",
        ),
        (("bench", "show", str(sides["file"])), "is not JSON"),
    ]
    for args, message in cases:
        res = wb(*args)
        assert res.code == 2, args
        assert message in res.err and res.err.count("\n") == 1, res.err


def test_broken_bench_file_names_the_side(sides, wb, tmp_path):
    broken = write(tmp_path / "broken.py", "import does_not_exist\n")
    res = wb(
        "bench",
        "run",
        "--file",
        str(broken),
        "--baseline-path",
        str(sides["fast"]),
        "--patched-path",
        str(sides["slow"]),
    )
    assert res.code == 1
    assert "the baseline side could not load the bench file" in res.err
    assert "No module named 'does_not_exist'" in res.err


def test_tui_run_detail_shows_processes_and_backed_verdicts(tmp_path):
    """The dashboard's run pane: processes per side, skips on one line, and a run from the
    one-pair-per-side harness read as inconclusive, in the table and in the run's verdict."""
    import datetime as dt

    from workbench.runs import RunResult
    from workbench.tui.detail import run_markdown

    measured = {
        "id": "f[n=1]",
        "ratio": 0.6,
        "ci": [0.55, 0.65],
        "p_value": 0.01,
        "verdict": "faster",
        "processes": {"baseline": 12, "patched": 12},
    }
    old = {**measured, "id": "f[n=2]"}
    del old["processes"]
    skips = [{"id": f"g[{i}]", "device": "cuda", "skipped": "needs CUDA"} for i in range(3)]
    doc = {"kind": "bench", "summary": {"faster": 2}, "cases": [measured, old, *skips]}
    run = RunResult("ao", "r1", "bench", tmp_path, doc, dt.datetime.now(dt.UTC))
    md = run_markdown(run, current=True)
    assert "| `f[n=1]` | – | – | 0.600 (0.550–0.650) | 0.01 | – | 12 | **faster** |" in md
    assert (
        "| `f[n=2]` | – | – | 0.600 (0.550–0.650) | 0.01 | – | 1 (old run) | inconclusive |" in md
    )
    assert "3 CUDA cases skipped: needs CUDA." in md and "g[0]" not in md
    assert run.verdict() == "faster"  # one case has a backed verdict
    doc["cases"] = [old]
    assert run.verdict() == "inconclusive"  # "summary" said faster; the cases say why not


INTERRUPTED_BENCH = """\
import os
import time
from pathlib import Path

from workbench.bench import bench

MARK = Path(os.environ["MARK_DIR"])
calls = 0


def _call():
    global calls
    calls += 1
    if calls == 50:  # only ever reached while being timed, never in the one untimed call
        (MARK / "timed").touch()
    return sum(range(200))


@bench
def first():
    return _call


@bench
def second():
    if (MARK / "timed").exists():
        (MARK / "waiting").touch()
        time.sleep(15)
    return lambda: sum(range(200))
"""


def test_ctrl_c_keeps_the_cases_measured_so_far(tmp_path):
    """Ctrl-C (SIGINT to the runner alone) part-way: the finished case is written, marked."""
    import signal
    import subprocess
    import time

    bench_file = write(tmp_path / "bench_stop.py", INTERRUPTED_BENCH)
    (tmp_path / "mark").mkdir()
    out = tmp_path / "run"
    env = {**os.environ, "MARK_DIR": str(tmp_path / "mark")}
    args = ["--baseline-path", str(tmp_path), "--patched-path", str(tmp_path), "--out", str(out)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench",
            "bench",
            "run",
            "--file",
            str(bench_file),
            *args,
            "--budget",
            "0.3",
            "--processes",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C's default action, even where this suite runs with SIGINT ignored (a job put in
        # the background by a shell without job control inherits SIG_IGN, and Python keeps it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "mark" / "waiting").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: the cases measured so far are in" in err
    doc = json.loads((out / "bench.json").read_text())
    assert doc["interrupted"] is True
    first, second = doc["cases"]
    assert "ratio" in first and first["outputs"]["match"] == "bitwise"
    assert "ratio" not in second and second["untimed"] == "not timed: the run was interrupted"
    md = (out / "bench.md").read_text()
    assert md.startswith("**Interrupted**: the run was stopped after 1 timed case(s)")
