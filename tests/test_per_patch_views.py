"""Each patch's own outcome where it is shown: the Patches tab (its rows and the series detail)
and the PR draft's series summary, read from the newest tests.json and bench.json of the series
that carry ``per_patch``.

The documents are the producers' (``tests run --per-patch``, ``bench run --per-patch``): one test
makes its tests.json with the real command; the others write them as the commands do. A
per-patch run of an earlier version of the series is named, never shown as the current answer;
without one nothing changes (the snapshots and the draft goldens say so).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import tui_data
from tests.conftest import git, small_workspace, write
from tests.test_tui import SIZE, app_for, detail, open_tab, settle
from workbench.config import load_recipe
from workbench.github.store import Store
from workbench.gitops.series import load_series
from workbench.paths import Workspace
from workbench.pr.patch_effects import PatchEffect
from workbench.tui import data
from workbench.tui.detail import series_markdown

P1, P2, P3 = "0001-Say-it-is-faster.patch", "0002-Rework-f1.patch", "0003-Speed-up-f2.patch"
TESTS_RUN, BENCH_RUN = "20250301-100000-tests", "20250301-103000-bench"
F1 = "test/test_mod.py::test_f1"


@pytest.fixture
def three(fetched, monkeypatch) -> Workspace:
    """The TUI workspace (demo's series of one README patch, ao without a clone) with two more
    patches: patch 2 breaks ``f1`` (its test fails), patch 3 changes ``f2``."""
    root = tui_data.make_workspace(fetched, monkeypatch)
    mod = (fetched.patched / "pkg" / "mod.py").read_text()
    fetched.commit_patched(
        {"pkg/mod.py": mod.replace("return x + 1\n", "return x + 10\n")}, "Rework f1"
    )
    mod = (fetched.patched / "pkg" / "mod.py").read_text()
    fetched.commit_patched(
        {"pkg/mod.py": mod.replace("return x + 2\n", "return 2 + x\n")}, "Speed up f2"
    )
    ws = Workspace(root)
    from workbench.gitops.engine import SeriesEngine

    SeriesEngine(ws, load_recipe(ws, "demo")).refresh()
    assert fetched.series() == [P1, P2, P3]
    return ws


def digest_of(ws: Workspace) -> str:
    return load_series(ws.patches("demo")).digest()


def put(ws: Workspace, doc: dict) -> Path:
    folder = ws.runs("demo") / doc["run_id"]
    write(folder / f"{doc['kind']}.json", json.dumps(doc))
    return folder


def doc_of_tests(digest: str, run_id: str = TESTS_RUN, started: str = "2025-03-01T10:00:00+00:00"):
    """A tests.json as ``tests run demo --per-patch`` writes it (schema 2)."""
    return {
        "schema": 2,
        "kind": "tests",
        "upstream": "demo",
        "run_id": run_id,
        "started": started,
        "device": "cpu",
        "device_note": None,
        "series_digest": digest,
        "selection": [{"path": "test/test_mod.py", "reasons": ["imports pkg.mod"]}],
        "command": "pytest test/test_mod.py",
        "seconds": 1.2,
        "counts": {"passed": 0, "failed": 1, "error": 0, "skipped": 0},
        "skipped_by_reason": {},
        "regressions": [{"id": F1, "status": "failed", "on_baseline": "passed"}],
        "preexisting": [],
        "per_patch": [
            {
                "patch": P1,
                "step": 1,
                "regressions": [],
                "fixed": [],
                "skipped": "touches no code a selected test runs",
            },
            {"patch": P2, "step": 2, "regressions": [F1], "fixed": [], "skipped": None},
            {"patch": P3, "step": 3, "regressions": [], "fixed": [], "skipped": None},
        ],
        "per_patch_cost": {
            "method": "linear",
            "builds": 1,
            "runs": 1,
            "seconds": 2.4,
            "note": None,
        },
    }


def step_case(case_id: str, ratio: float, verdict: str, half: float = 0.05) -> dict:
    """One timed case of a step, as ``bench.json``'s ``per_patch`` lists it."""
    return {
        "id": case_id,
        "ratio": ratio,
        "interval": [ratio - half, ratio + half],
        "verdict": verdict,
        "p_value": 0.002,
        "changed_code": ["pkg/mod.py::f1"],
        "may_run": [],
        "outputs": "bitwise",
        "processes": 8,
    }


def whole_case(case_id: str, ratio: float, verdict: str) -> dict:
    return {
        "id": case_id,
        "ratio": ratio,
        "ci": [ratio - 0.04, ratio + 0.04],
        "p_value": 0.001,
        "verdict": verdict,
        "processes": {"baseline": 8, "patched": 8},
        "outputs": {"match": "bitwise", "max_abs_diff": 0.0, "sqnr_db": None},
        "changed_code": ["pkg/mod.py::f1"],
        "may_run": [],
    }


def doc_of_bench(digest: str, *, spread: bool = False) -> dict:
    """A bench.json as ``bench run demo --per-patch`` writes it (schema 3): patch 1 runs in no
    case; patch 2 leaves f1 alone, patch 3 makes two cases slower. With ``spread``: each of
    patches 2 and 3 is inconclusive on its own, the whole series slower."""
    if spread:
        second = [step_case("f1[n=4096]", 1.09, "inconclusive", 0.11)]
        third = [step_case("f1[n=4096]", 1.1, "inconclusive", 0.12)]
        whole = [whole_case("f1[n=4096]", 1.2, "slower")]
    else:
        second = [step_case("f1[n=4096]", 1.004, "unchanged", 0.015)]
        third = [step_case("f1[n=4096]", 1.31, "slower"), step_case("f2[n=64]", 1.29, "slower")]
        whole = [whole_case("f1[n=4096]", 1.31, "slower"), whole_case("f2[n=64]", 1.29, "slower")]
    return {
        "schema": 3,
        "kind": "bench",
        "upstream": "demo",
        "run_id": BENCH_RUN,
        "command": "workbench bench run demo --per-patch",
        "files": ["bench_mod.py"],
        "started": "2025-03-01T10:30:00+00:00",
        "device": "cpu",
        "series_digest": digest,
        "settings": {"budget": 10.0, "min_effect": 0.02},
        "sides": {"baseline": {"env": {}}, "patched": {"env": {}}},
        "summary": {"slower": len(whole)},
        "changed_blocks": ["pkg/mod.py::f1", "pkg/mod.py::f2"],
        "changed_not_traceable": [],
        "cases": whole,
        "per_patch": [
            {
                "patch": P1,
                "step": 1,
                "skipped": "no bench case runs the code this patch changes",
            },
            {"patch": P2, "step": 2, "against": 0, "cases": second},
            {"patch": P3, "step": 3, "against": 2, "cases": third},
        ],
        "spread": [
            {
                "id": "f1[n=4096]",
                "verdict": "slower",
                "ratio": 1.2,
                "interval": [1.16, 1.24],
                "patches": [P2, P3],
                "note": "not pinned on one: 2 patches run by it, none slower on its own (each "
                "below what the machine resolves, or they partly cancel)",
            }
        ]
        if spread
        else [],
        "per_patch_cost": {
            "method": "linear",
            "builds": 1,
            "runs": 2,
            "seconds": 41.0,
            "note": None,
            "comparisons": [{"from": 0, "to": 2}, {"from": 2, "to": 3}],
        },
    }


def rows(app) -> list[list[str]]:
    table = app.query_one("#table-patches")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_patches_tab_shows_each_patch_s_own_outcome(three: Workspace, monkeypatch):
    put(three, doc_of_tests(digest_of(three)))
    put(three, doc_of_bench(digest_of(three)))
    with Store.open(three) as store:
        tui_data.fill(store, monkeypatch)
        app = app_for(three, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            await open_tab(pilot, app, "patches")
            shown = rows(app)
            assert [r for r in shown if r[0] == "demo"] == [
                ["demo", P1, "+2 -0", "clean", "skipped", "skipped"],
                ["demo", P2, "+1 -1", "clean", "1 regression", "unchanged"],
                ["demo", P3, "+1 -1", "clean", "no change", "slower 1.30x"],
            ]
            # An upstream without per-patch results keeps its row as it was.
            assert [r[4:] for r in shown if r[0] == "ao"] == [["none", "none"]]
            table = app.query_one("#table-patches")
            table.move_cursor(row=[r[1] for r in shown].index(P2))
            await settle(pilot, app)
            text = detail(app)
    assert (
        f"per patch: tests from run `{TESTS_RUN}` (linear, 1 build(s), 1 pytest run(s), 2.4 s)"
        f" · bench from run `{BENCH_RUN}` (linear, 1 build(s), 2 bench run(s), 41.0 s)"
    ) in text
    assert "last tests: regressions (current) · last bench: slower (current)" in text
    assert "tests: skipped: touches no code a selected test runs\n" in text
    assert "bench: skipped: no bench case runs the code this patch changes\n" in text
    assert f"tests: 1 regression: `{F1}`\n" in text
    assert (
        "bench: unchanged 1.00x (0.99–1.02) in 1 case(s) (against step 0: the patches between "
        "change no code these cases run)\n"
    ) in text
    assert "bench: slower 1.30x (1.24–1.36) in 2 case(s)\n" in text
    # In series order, under each patch's heading.
    assert text.index(f"### {P2}") < text.index("tests: 1 regression") < text.index(f"### {P3}")


def test_a_change_spread_over_patches_is_noted_on_each(three: Workspace):
    put(three, doc_of_bench(digest_of(three), spread=True))
    view = data.series_view(three, load_recipe(three, "demo"), check_head=False)
    effects = [view.effects[p] for p in (P1, P2, P3)]
    # Neither step resolves the change on its own: the cell says it is spread, not pinned.
    assert [e.bench_cell() for e in effects] == ["skipped", "spread", "spread"]
    assert [e.tests_cell() for e in effects] == [None, None, None]  # no per-patch tests run
    assert effects[2].bench_words() == (
        "inconclusive 1.10x (0.98–1.22) in 1 case(s); spread: case f1[n=4096] slower 1.20x over "
        "0002, 0003, no single patch resolves it"
    )
    text = series_markdown(view)
    assert "per patch: bench from run" in text and "tests from run" not in text


def test_results_of_an_earlier_version_of_the_series_are_named_not_shown(three: Workspace):
    put(three, doc_of_tests("an-earlier-series"))
    # The newest whole run is current and has no per-patch results.
    plain = doc_of_tests(digest_of(three), run_id="20250301-110000-tests")
    plain["started"] = "2025-03-01T11:00:00+00:00"
    del plain["per_patch"], plain["per_patch_cost"]
    put(three, plain)
    view = data.series_view(three, load_recipe(three, "demo"), check_head=False)
    assert view.effects == {} and view.tests_state == "current"
    text = series_markdown(view)
    assert (
        f"per patch: the newest tests run `{TESTS_RUN}` is from an earlier version of the "
        "series, so it is not shown"
    ) in text.replace("\\", "")
    assert "1 regression" not in text


def test_without_per_patch_results_the_view_is_as_before(three: Workspace):
    doc = doc_of_bench(digest_of(three))
    for key in ("per_patch", "spread", "per_patch_cost"):
        del doc[key]
    put(three, doc | {"schema": 2})
    view = data.series_view(three, load_recipe(three, "demo"), check_head=False)
    assert view.effects == {} and "per patch" not in series_markdown(view)


def draft_body() -> str:
    from tests.conftest import run_cli

    res = run_cli("pr", "draft", "demo", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)["body"]


def series_summary(body: str) -> list[str]:
    """The quoted block of the series summary, its lines without the quote marks."""
    start = body.index("> **Generated by workbench** from `patches/demo/`")
    block = body[start:].split("\n\n", 1)[0]
    return [line.removeprefix(">").removeprefix(" ") for line in block.splitlines()]


def test_the_draft_gives_one_line_per_patch_with_its_effect(three: Workspace):
    before = series_summary(draft_body())
    assert not any("per patch" in line.lower() for line in before)
    put(three, doc_of_tests(digest_of(three)))
    put(three, doc_of_bench(digest_of(three)))
    after = series_summary(draft_body())
    assert after[: len(before)] == before  # the patches' list stays as it was
    assert after[len(before) :] == [
        "",
        f"Per patch (each against the series up to the patch before it), from test run "
        f"`{TESTS_RUN}` (2025-03-01 10:00 UTC; cpu) and benchmark run `{BENCH_RUN}` "
        "(2025-03-01 10:30 UTC; cpu), made from this series:",
        "",
        f"- `{P1}`: tests: skipped: touches no code a selected test runs; benchmarks: skipped: "
        "no bench case runs the code this patch changes.",
        f"- `{P2}`: tests: 1 regression: `{F1}`; benchmarks: unchanged 1.00x (0.99–1.02) in 1 "
        "case(s) (against step 0: the patches between change no code these cases run).",
        f"- `{P3}`: tests: no change; benchmarks: slower 1.30x (1.24–1.36) in 2 case(s).",
        "",
        "Tests per patch: linear, 1 build(s), 1 pytest run(s), 2.4 s. Benchmarks per patch: "
        "linear, 1 build(s), 2 bench run(s), 41.0 s.",
    ]


def test_the_draft_escapes_what_the_runs_wrote_and_names_a_spread(three: Workspace):
    tests = doc_of_tests(digest_of(three))
    tests["per_patch"][2]["fixed"] = [f"{F1}[a`b]"]
    tests["per_patch_cost"]["note"] = "chosen by hand (after --): *no* patch is skipped"
    put(three, tests)
    put(three, doc_of_bench(digest_of(three), spread=True))
    summary = series_summary(draft_body())
    assert (
        f"- `{P3}`: tests: fixed 1: ``{F1}[a`b]``; benchmarks: inconclusive 1.10x (0.98–1.22) "
        "in 1 case(s); spread: case `f1[n=4096]` slower 1.20x over 0002, 0003, no single patch "
        "resolves it."
    ) in summary
    assert (
        "Tests per patch: linear, 1 build(s), 1 pytest run(s), 2.4 s; chosen by hand (after "
        "--): \\*no\\* patch is skipped."
    ) in " ".join(summary)


def test_the_draft_names_a_per_patch_run_of_an_earlier_version_as_stale(three: Workspace):
    put(three, doc_of_tests("an-earlier-series"))
    summary = series_summary(draft_body())
    assert summary[-1] == (
        f"The newest per-patch test run (`{TESTS_RUN}`, 2025-03-01 10:00 UTC) was made from an "
        "earlier version of this series (STALE), so its per-patch outcomes are not given here. "
        "Run `workbench tests run demo --per-patch` again."
    )
    assert not any("regression" in line for line in summary)


def test_an_effect_without_entries_says_nothing():
    effect = PatchEffect("0001-x.patch")
    assert (effect.tests_cell(), effect.bench_cell()) == (None, None)
    assert (effect.tests_words(), effect.bench_words()) == (None, None)
    many = PatchEffect("0001-x.patch", tests={"regressions": [f"t::{i}" for i in range(7)]})
    assert many.tests_cell() == "7 regressions"
    assert many.tests_words() == "7 regressions: t::0, t::1, t::2, t::3, t::4 and 2 more"
    both = PatchEffect("0001-x.patch", tests={"regressions": ["t::a"], "fixed": ["t::b"]})
    assert both.tests_cell() == "1 regression, fixed 1"
    assert both.tests_words() == "1 regression: t::a; fixed 1: t::b"


def test_a_bench_cell_never_hides_a_direction_or_changed_outputs():
    slower, faster = step_case("a", 1.4, "slower"), step_case("b", 0.7, "faster")
    differs = step_case("c", 1.0, "unchanged") | {"outputs": "differ"}
    cell = PatchEffect("p", bench={"patch": "p", "step": 1, "cases": [slower, faster]}).bench_cell()
    assert cell == "slower/faster"
    cases = [step_case("d", 1.05, "inconclusive"), differs]
    cell = PatchEffect("p", bench={"patch": "p", "step": 1, "cases": cases}).bench_cell()
    assert cell == "inconclusive, outputs differ"


# --- from the real command ---------------------------------------------------------------------


CALC = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "calc"\nversion = "1.0"\n\n[tool.setuptools]\npackages = ["calc"]\n'
    ),
    "calc/__init__.py": "",
    "calc/core.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
    "test/test_core.py": (
        "from calc.core import add, mul\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n"
    ),
}


@pytest.mark.slow
def test_the_draft_reads_what_tests_run_per_patch_wrote(tmp_path: Path, monkeypatch, wb):
    root = small_workspace(tmp_path, monkeypatch, CALC)
    assert wb("upstream", "fetch", "calc").code == 0
    patched = root / "upstreams" / "calc" / "patched"
    for old, new, message in (
        ("    return a * b\n", '    """The product."""\n    return a * b\n', "Document mul"),
        ("    return a + b\n", "    return a + b + 1\n", "Rework add"),
    ):
        core = patched / "calc" / "core.py"
        core.write_text(core.read_text().replace(old, new))
        git(patched, "commit", "-q", "-am", message)
    assert wb("patches", "refresh", "calc").code == 0
    res = wb("tests", "run", "calc", "--per-patch", "--json")
    assert res.code == 1, res.err
    run_id = json.loads(res.out)["run_id"]
    drafted = wb("pr", "draft", "calc", "--json")
    assert drafted.code == 0, drafted.err
    body = json.loads(drafted.out)["body"]
    assert (
        f"Per patch (each against the series up to the patch before it), from test run `{run_id}`"
        in body
    )
    assert "> - `0001-Document-mul.patch`: tests: no change.\n" in body
    assert (
        "> - `0002-Rework-add.patch`: tests: 1 regression: `test/test_core.py::test_add`.\n"
    ) in body
    assert "> Tests per patch: linear, 1 build(s), 1 pytest run(s), " in body
