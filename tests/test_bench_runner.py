"""The bench runner end to end on CPU: two tiny pure-Python modules with a real speed difference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from workbench.bench.api import bench, specs_in
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
    # Each side really ran its own module.
    assert result.env["baseline"]["pythonpath_first"] == str(sides["fast"])
    assert result.env["patched"]["pythonpath_first"] == str(sides["slow"])


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


def test_rounds_per_block_follows_startup_cost():
    # Cheap start-up: a fresh pair every round or two.
    assert rounds_per_block(0.01, 0.125, 40, 0.25) == 1
    assert rounds_per_block(0.1, 0.125, 40, 0.25) == 2
    assert rounds_per_block(0.08, 0.025, 200, 0.25) == 5
    # A torch import (seconds): one long-lived pair for the whole case.
    assert rounds_per_block(6.0, 0.125, 40, 0.25) == 40
    # Short rounds (a small budget): blocks only if enough of them fit for a verdict.
    assert rounds_per_block(0.1, 0.019, 40, 0.25) == 40


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
    assert doc["schema"] == 1 and doc["kind"] == "bench"
    [case] = doc["cases"]
    assert case["verdict"] == "slower" and case["ci"][0] > 1.05
    assert len(case["baseline"]["samples_ns"]) == case["rounds"]
    assert case["roofline"]["patched"]["gbs"] > 0  # bytes_moved given: achieved bandwidth
    assert doc["sides"]["patched"]["path"] == str(sides["slow"])
    assert doc["sides"]["patched"]["env"]["threads"] == 1
    md = (out / "bench.md").read_text()
    assert md.startswith("| benchmark | baseline | patched | patched/baseline (95% CI) |")
    assert "`loop[size=200]`" in md and "**slower**" in md
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
