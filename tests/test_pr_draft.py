"""``workbench pr draft`` / ``pr start``: each upstream's format from a fixed series and fixed
results (golden files), staleness, lint, labels, and keeping what the contributor wrote.

Golden files live in tests/golden/; after a deliberate change, regenerate them with
``UPDATE_GOLDEN=1 pytest tests/test_pr_draft.py`` and read the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import Workspace, git, run_cli, write
from workbench.config import load_recipe
from workbench.github.model import Item
from workbench.github.store import Store, store_path
from workbench.gitops.engine import SeriesEngine
from workbench.paths import Workspace as Ws

GOLDEN = Path(__file__).parent / "golden"

PR_TABLES = {
    "pytorch": """
[pr]
format = "pytorch"
lint = ["ruff check --fix", "ruff format ."]
label_bot = "@pytorchbot label"

[[pr.labels]]
paths = ["pkg/mod.py"]
label = "module: inference"

[[pr.labels]]
paths = ["test", "docs"]
label = "module: not user facing"

[pr.internal]
paths = ["test", "docs"]
labels = ["topic: not user facing"]

[labels]
newcomer = ["good first issue"]

[[labels.required]]
any_prefix = ["module:"]
why = "CI fails a PR without a label starting 'module:'"

[[labels.required]]
any_prefix = ["release notes:", "topic: not user facing"]
why = "release tooling wants a 'release notes: ...' label or 'topic: not user facing'"
""",
    "triton": """
[pr]
format = "triton"
lint = ["pre-commit run --from-ref origin/main --to-ref HEAD"]

[[pr.title_prefixes]]
path = "python/triton/runtime"
prefix = "[RUNTIME]"

[[pr.title_prefixes]]
path = "python/triton"
prefix = "[FRONTEND]"

[labels]
newcomer = []
""",
    "plain": """
[pr]
format = "plain"
lint = ["yapf 0.40.2 (Python)"]

[[pr.warn]]
paths = [".torch_pin"]
message = "pins a PyTorch PR for CI; remove it before merge"

[labels]
newcomer = []
""",
    "template": """
[pr]
format = "template"

[labels]
newcomer = []
""",
}

SERIES = {
    "pytorch": [
        ({"pkg/mod.py": "def f1(x):\n    return x + 1  # fast path\n"}, "Speed up f1"),
        ({"test/test_fast.py": "def test_fast():\n    assert True\n"}, "Test the fast path"),
    ],
    "triton": [
        (
            {"python/triton/language/core.py": "X = 1\n"},
            "fix the dtype of tl.arange",
        ),
        ({"python/test/unit/language/test_arange.py": "def test_a():\n    pass\n"}, "Test it"),
    ],
    "plain": [
        ({"pkg/mod.py": "def f1(x):\n    return x\n"}, "[SPMD] simplify f1."),
        ({".torch_pin": "#12345\n"}, "Pin a PyTorch PR"),
    ],
    "template": [({"pkg/util.py": "VALUE = 2\n"}, "Bump VALUE")],
}

TEMPLATE_TEXT = "## What\n\nDescribe the change.\n\n## Checklist\n\n- [ ] docs updated\n"


def _recipe(ws: Workspace, fmt: str) -> None:
    path = ws.root / "upstreams" / "demo" / "recipe.toml"
    text = path.read_text()
    text = text[: text.index("[pr]")] + PR_TABLES[fmt].lstrip()
    path.write_text(text)


def _series(ws: Workspace, fmt: str) -> str:
    if fmt == "template":  # the upstream has its own template at the pin
        ws.upstream.commit({".github/PULL_REQUEST_TEMPLATE.md": TEMPLATE_TEXT}, "Add a template")
        git(ws.upstream.path, "tag", "-f", "v1.0")
    _apply()
    body = "\n\nThe loop called f1 for every element.\nNow it is called once."
    for files, message in SERIES[fmt]:
        ws.commit_patched(files, message + body)
    assert run_cli("patches", "refresh", "demo").code == 0, "refresh failed"
    return _digest(ws)


def _apply() -> None:
    assert run_cli("upstream", "fetch", "demo").code == 0
    res = run_cli("patches", "apply", "demo")
    assert res.code == 0, res.err


def _digest(ws: Workspace) -> str:
    w = Ws(ws.root)
    return SeriesEngine(w, load_recipe(w, "demo")).series().digest()


def make_tests_doc(digest: str, run_id: str = "20261120-101500-tests", **changes) -> dict:
    doc = {
        "schema": 1,
        "kind": "tests",
        "upstream": "demo",
        "run_id": run_id,
        "started": "2026-11-20T10:15:00+00:00",
        "device": "cpu",
        "device_note": "GPU-only tests skip themselves.",
        "series_digest": digest,
        "selection": [{"path": "test/test_mod.py", "reasons": ["imports pkg.mod"]}],
        "env": {"PJRT_DEVICE": "CPU"},
        "versions": {"torch": "2.13.0"},
        "reproduce": "PJRT_DEVICE=CPU python -m pytest test/test_mod.py",
        "counts": {"passed": 12, "failed": 0, "error": 0, "skipped": 3},
        "skipped_by_reason": {"needs CUDA": 2, "needs a TPU": 1},
        "regressions": [],
        "preexisting": [],
    }
    doc.update(changes)
    return doc


def make_bench_doc(
    digest: str, run_id: str = "20261120-103000-bench", verdict: str = "faster"
) -> dict:
    ratio = {"faster": 0.81, "slower": 1.22}[verdict]
    side = {"median_ns": 1_250_000.0}
    return {
        "schema": 2,
        "kind": "bench",
        "upstream": "demo",
        "run_id": run_id,
        "series_digest": digest,
        "command": "workbench bench run demo",
        "files": ["bench_mod.py"],
        "started": "2026-11-20T10:30:00+00:00",
        "device": "NVIDIA H100 80GB HBM3",
        "settings": {"budget": 10.0, "min_effect": 0.02},
        "sides": {
            "baseline": {"env": {}},
            "patched": {
                "env": {
                    "python": "3.12.3",
                    "modules": {"torch": {"version": "2.13.0"}, "triton": {"version": "3.9.0"}},
                }
            },
        },
        "summary": {verdict: 1},
        "changed_blocks": ["pkg/mod.py::f1"],
        "changed_not_traceable": [],
        "geomean": {"ratio": ratio, "ci": [ratio - 0.02, ratio + 0.02], "cases": 1},
        "cases": [
            {
                "id": "f1[n=4096]",
                "ratio": ratio,
                "ci": [ratio - 0.02, ratio + 0.02],
                "p_value": 0.0039,
                "verdict": verdict,
                "processes": {"baseline": 8, "patched": 8},
                "baseline": side,
                "patched": {"median_ns": side["median_ns"] * ratio},
                "outputs": {"match": "bitwise", "max_abs_diff": 0.0, "sqnr_db": None},
                "changed_code": ["pkg/mod.py::f1"],
                "may_run": [],
            }
        ],
    }


def put_run(ws: Workspace, doc: dict, remote: dict | None = None) -> Path:
    folder = ws.root / ".workbench" / "runs" / "demo" / doc["run_id"]
    write(folder / f"{doc['kind']}.json", json.dumps(doc))
    if remote:
        write(folder / "remote.json", json.dumps(remote))
    return folder


def draft(*args: str) -> dict:
    res = run_cli("pr", "draft", "demo", "--json", *args)
    assert res.code == 0, res.err
    return json.loads(res.out)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        write(path, text)
    assert path.exists(), f"no golden file {path.name}: set UPDATE_GOLDEN=1 once"
    assert text == path.read_text()


def _markdown(body: str):
    return MarkdownIt("commonmark").enable("table").parse(body)


def _task_items(body: str) -> dict[str, bool]:
    """Checklist items as GitHub reads them: a list item whose text starts with [ ] or [x]."""
    tokens = _markdown(body)
    items = {}
    for i, tok in enumerate(tokens):
        if tok.type == "list_item_open" and tokens[i + 2].type == "inline":
            m = re.match(r"\[( |x)\] (.*)", tokens[i + 2].content, re.S)
            if m:
                items[m[2].splitlines()[0]] = m[1] == "x"
    return items


@pytest.mark.parametrize("fmt", ["pytorch", "triton", "plain", "template"])
def test_each_format_matches_its_golden_file(workspace: Workspace, fmt: str):
    _recipe(workspace, fmt)
    digest = _series(workspace, fmt)
    put_run(workspace, make_tests_doc(digest))
    put_run(
        workspace,
        make_bench_doc(digest),
        remote={
            "device": "NVIDIA H100",
            "run_id": 7001,
            "html_url": "https://github.com/me/wb/actions/runs/7001",
        },
    )
    res = run_cli("pr", "draft", "demo", "--issue", "42")
    assert res.code == 0, res.err
    # stdout is the draft alone (title, blank line, body); the warnings go to stderr.
    _golden(f"draft_{fmt}.txt", res.out)
    assert "warning" not in res.out and "warning write the" in " ".join(res.err.split())
    assert "characters" in res.err and "of GitHub's 65,536" in res.err
    doc = draft("--issue", "42")
    body = doc["body"]
    assert str(workspace.root) not in body and str(Path.home()) not in body
    tokens = _markdown(body)
    assert any(t.type == "blockquote_open" for t in tokens)
    # The bench table is a real table inside the generated (quoted) block.
    assert any(t.type == "table_open" for t in tokens)
    assert "Fixes #42" in body
    assert doc["results"]["tests"]["state"] == "current"
    assert doc["results"]["bench"] == {
        "state": "current",
        "run_id": "20261120-103000-bench",
        "device": "NVIDIA H100",
        "origin": "remote",
        "verdict": "faster",
    }
    codes = {w["code"] for w in doc["warnings"]}
    assert "empty-human-section" in codes  # the contributor's own words are still to come
    assert "no-tests" not in codes and "stale-tests" not in codes


def test_pytorch_format_sections_labels_and_policy(workspace: Workspace):
    _recipe(workspace, "pytorch")
    digest = _series(workspace, "pytorch")
    put_run(workspace, make_tests_doc(digest))
    doc = draft()
    assert doc["title"] == "Speed up f1"
    body = doc["body"]
    assert body.index("Summary:") < body.index("Test Plan:") < body.index("Benchmarks:")
    assert "PJRT_DEVICE=CPU python -m pytest test/test_mod.py" in body
    assert "12 passed, 0 failed, 3 skipped." in body
    assert "Skipped: needs CUDA (2); needs a TPU (1)." in body
    # Every generated part is a quote that says so.
    for block in re.findall(r"(?m)^(?:>.*\n?)+", body):
        assert block.startswith("> **Generated by workbench**"), block
    assert doc["labels"] == ["module: inference", "module: not user facing"]
    codes = [w["code"] for w in doc["warnings"]]
    # pkg/mod.py is user facing: a release-notes label is the human's choice.
    assert codes.count("missing-label") == 1
    assert any("release notes" in w["message"] for w in doc["warnings"])
    assert '@pytorchbot label "module: inference"' in " ".join(doc["label_notes"])
    assert "nox -s demo_tests" in body
    # A newer run with files given after -- says so.
    newer = make_tests_doc(digest, "20261121-090000-tests", started="2026-11-21T09:00:00+00:00")
    put_run(workspace, {**newer, "override": ["test/test_mod.py", "-k", "f1"]})
    body = draft()["body"]
    assert "workbench tests run demo -- test/test_mod.py -k f1" in body
    assert "`20261121-090000-tests`" in body and "nox -s demo_tests" not in body


def test_tests_only_series_is_not_user_facing(workspace: Workspace):
    _recipe(workspace, "pytorch")
    _apply()
    workspace.commit_patched({"test/test_more.py": "def test_x():\n    pass\n"}, "More tests")
    assert run_cli("patches", "refresh", "demo").code == 0
    doc = draft()
    assert doc["labels"] == ["module: not user facing", "topic: not user facing"]
    assert "missing-label" not in {w["code"] for w in doc["warnings"]}


def test_stale_results_are_named_stale_and_not_passed_off(workspace: Workspace):
    _recipe(workspace, "pytorch")
    _series(workspace, "pytorch")
    put_run(workspace, make_tests_doc("0" * 64, regressions=[{"id": "test/test_mod.py::test_f1"}]))
    put_run(workspace, make_bench_doc("0" * 64, verdict="slower"))
    doc = draft()
    body = doc["body"]
    assert "`20261120-101500-tests`" in body and "STALE" in body
    assert "passed" not in body and "slower" not in body and "regression" not in body
    assert doc["results"]["tests"]["state"] == "stale"
    assert doc["results"]["tests"]["verdict"] is None
    codes = {w["code"] for w in doc["warnings"]}
    assert {"stale-tests", "stale-bench"} <= codes
    assert not codes & {"test-regression", "bench-regression"}


def test_no_results_and_regressions_are_warned(workspace: Workspace):
    _recipe(workspace, "pytorch")
    digest = _series(workspace, "pytorch")
    doc = draft()
    assert "no-tests" in {w["code"] for w in doc["warnings"]}
    assert "no test run yet for this series" in doc["body"]
    put_run(workspace, make_tests_doc(digest, regressions=[{"id": "test/test_mod.py::test_f1"}]))
    put_run(workspace, make_bench_doc(digest, verdict="slower"))
    doc = draft()
    codes = {w["code"] for w in doc["warnings"]}
    assert {"test-regression", "bench-regression"} <= codes
    assert "**1 regression(s)**" in doc["body"]


def test_bench_outputs_that_differ_and_benches_that_run_nothing_are_warned(
    workspace: Workspace,
):
    _recipe(workspace, "pytorch")
    digest = _series(workspace, "pytorch")
    doc = make_bench_doc(digest)
    doc["cases"][0]["outputs"] = {
        "match": "differ",
        "max_abs_diff": 0.5,
        "sqnr_db": 31.2,
        "detail": "output: 3 of 4096 elements differ, max abs diff 0.5",
    }
    put_run(workspace, doc)
    out = draft()
    assert "bench-outputs-differ" in {w["code"] for w in out["warnings"]}
    assert "| **faster**, outputs differ: SQNR 31.2 dB |" in out["body"]
    assert "**Outputs differ** between baseline and patched:" in out["body"]
    # A run where no case runs the changed code gives no verdict row, and says why.
    doc = make_bench_doc(digest, run_id="20261120-113000-bench")
    doc["cases"][0].update(changed_code=[], untimed="runs none of the changed code")
    for key in ("ratio", "ci", "p_value", "verdict", "baseline", "patched"):
        del doc["cases"][0][key]
    doc["geomean"] = None
    put_run(workspace, doc)
    out = draft()
    assert "no-bench-evidence" in {w["code"] for w in out["warnings"]}
    assert (
        "No bench runs this change: none of the 1 case(s) that ran here runs `pkg/mod.py::f1`"
        in out["body"]
    )
    assert "| `f1[n=4096]`" not in out["body"] and "**faster**" not in out["body"]


def test_thousands_of_node_ids_and_hundreds_of_regressions_fit_githubs_limit(
    workspace: Workspace,
):
    """A test map's selection and a results-breaking patch: a body a reviewer can act on, one
    pytest line per file, far under GitHub's 65,536 characters."""
    _recipe(workspace, "pytorch")
    digest = _series(workspace, "pytorch")
    files = [f"test/quantization/test_part{i}.py" for i in range(3)]
    ids = [
        f"{f}::TestQuant::test_case_{n}[{dtype}-{n * 7}]"
        for f in files
        for n in range(400)
        for dtype in ("float32", "bfloat16")
    ]
    regressions = [
        {"id": i, "status": "failed", "message": "AssertionError", "on_baseline": "passed"}
        for i in ids[:300]
    ]
    doc = make_tests_doc(
        digest,
        selection=[
            {"path": i, "reasons": ["runs f1 (changed)"], "sources": ["pkg/mod.py"]} for i in ids
        ],
        regressions=regressions,
        pytest_args=["-p", "no:cacheprovider"],
        counts={"passed": 2100, "failed": 300, "error": 0, "skipped": 0},
        skipped_by_reason={"FAILED test/x.py::T::t - AssertionError": 3, "needs CUDA": 9},
    )
    folder = put_run(workspace, doc)
    write(folder / "selected.txt", "".join(f"{i}\n" for i in ids))
    bench = make_bench_doc(digest)
    bench["cases"][0]["file"] = "bench_mod.py"
    write(
        workspace.root / "upstreams" / "demo" / "benches" / "bench_mod.py",
        "from workbench.bench import bench\n\n\n@bench\ndef f1():\n    return lambda: None\n",
    )
    put_run(workspace, bench)
    out = draft()
    body = out["body"]
    assert len(body) < 20_000 and "body-too-long" not in {w["code"] for w in out["warnings"]}
    block = body[body.index("```\n") + 4 :]
    block = block[: block.index("```")]
    lines = [ln.removeprefix("> ") for ln in block.strip().splitlines() if ln.strip() != ">"]
    # One line per test file, its device env and pytest arguments, the count it stands for.
    assert len(lines) == 3 and all(
        ln.startswith("PJRT_DEVICE=CPU python -m pytest -p no:cacheprovider test/") for ln in lines
    )
    assert lines[0].endswith("# 800 tests selected here (the whole file runs them and more)")
    assert (
        "**300 regression(s)**" in body
        and "and 280 more: `test/quantization/test_part0.py` (280)" in body
    )
    assert "by file: `test/quantization/test_part0.py` (300)" in body
    # An expected failure is never rendered as a failure; the listed targets stay local.
    assert "expected to fail (xfail): test/x.py::T::t - AssertionError (3)" in body
    assert "the 2400 selected targets are listed in its run folder" in body
    # The bench cases a reviewer can run, folded, and the workbench command on one line.
    assert "<details><summary>The cases: <code>bench_mod.py</code>" in body
    assert "Reproduce:" not in body and "How this was made: `workbench bench run demo`" in body


def test_a_few_node_ids_are_given_and_a_short_k_expression(workspace: Workspace):
    from workbench.pr.testplan import pytest_lines

    few = ["test/a.py::T::test_x", "test/a.py::T::test_y[1]"]
    assert pytest_lines({}, [], few) == [
        "python -m pytest test/a.py::T::test_x 'test/a.py::T::test_y[1]'"
    ]
    many = [f"test/a.py::T::test_{n % 3}[{n}]" for n in range(50)]
    [line] = pytest_lines({"A": "1"}, [], many)
    assert line.startswith("A=1 python -m pytest test/a.py -k 'test_0 or test_1 or test_2'")
    assert line.endswith("# 50 tests selected; -k matches by name, so it may run a few more")
    assert pytest_lines({}, [], ["test/b.py"]) == ["python -m pytest test/b.py"]


def test_a_worktree_out_of_sync_with_the_files_is_warned(workspace: Workspace):
    _recipe(workspace, "pytorch")
    _series(workspace, "pytorch")
    assert "worktree" not in {w["code"] for w in draft()["warnings"]}
    workspace.commit_patched({"pkg/late.py": "Y = 1\n"}, "Not refreshed yet")
    [warning] = [w for w in draft()["warnings"] if w["code"] == "worktree"]
    assert warning["message"] == (
        "upstreams/demo/patched has commits not saved to patches/: the draft is made from "
        "patches/demo/"
    )


def test_triton_ticks_only_what_the_series_shows(workspace: Workspace):
    _recipe(workspace, "triton")
    _series(workspace, "triton")
    doc = draft()
    assert doc["title"] == "[FRONTEND] fix the dtype of tl.arange"
    items = _task_items(doc["body"])
    assert items["I have added tests."] is True
    assert items["I have not added any `lit` tests."] is True
    assert items["I am not making a trivial change, such as fixing a typo in a comment."] is False
    assert items["I have run `pre-commit run --from-ref origin/main --to-ref HEAD`."] is False
    assert items["This PR does not need a test because `FILL THIS IN`."] is False
    assert "# New contributor declaration" in doc["body"]
    # A lit test in the series: the workbench does not claim either lit box.
    workspace.commit_patched({"test/TritonGPU/new.mlir": "// RUN: true\n"}, "Add a lit test")
    assert run_cli("patches", "refresh", "demo").code == 0
    items = _task_items(draft()["body"])
    assert items["I have not added any `lit` tests."] is False
    assert not any(v for k, v in items.items() if k.startswith("The `lit` tests"))


def test_plain_format_title_commands_and_pin_warning(workspace: Workspace):
    _recipe(workspace, "plain")
    digest = _series(workspace, "plain")
    put_run(workspace, make_tests_doc(digest))
    doc = draft()
    assert doc["title"] == "Simplify f1"
    assert "PJRT_DEVICE=CPU python test/test_mod.py" in doc["body"]
    assert "test/run_tests.sh -L test/test_mod.py" in doc["body"]
    [pin] = [w for w in doc["warnings"] if w["code"] == "path"]
    assert pin["message"].startswith(".torch_pin: pins a PyTorch PR")


def test_template_format_without_a_template_is_neutral(workspace: Workspace):
    _recipe(workspace, "template")
    _apply()
    workspace.commit_patched({"pkg/util.py": "VALUE = 3\n"}, "Bump VALUE again")
    assert run_cli("patches", "refresh", "demo").code == 0
    body = draft()["body"]
    assert body.index("## Summary") < body.index("## Test plan") < body.index("## Benchmarks")
    assert "Describe the change." not in body


def test_redraft_into_a_file_keeps_what_the_contributor_wrote(workspace: Workspace):
    _recipe(workspace, "pytorch")
    digest = _series(workspace, "pytorch")
    out = workspace.root / "pr.md"
    assert run_cli("pr", "draft", "demo", "-o", str(out)).code == 0
    text = out.read_text()
    assert text.startswith("Speed up f1\n\nSummary:")
    mine = "f1 ran in a Python loop; this vectorises it.\n\nMeasured on my laptop too."
    text = re.sub(
        r"(<!-- human:summary -->\n).*?(\n<!-- /human:summary -->)",
        rf"\g<1>{mine}\g<2>",
        text,
        flags=re.S,
    )
    out.write_text(text.replace("Speed up f1", "Vectorise f1", 1))
    # New results arrive; the draft is made again into the same file.
    put_run(workspace, make_tests_doc(digest))
    doc = draft("-o", str(out))
    assert sorted(doc["kept"]) == ["summary", "title"]
    again = out.read_text()
    assert again.startswith("Vectorise f1\n\n") and mine in again
    assert "12 passed" in again
    codes = [w["message"] for w in doc["warnings"] if w["code"] == "empty-human-section"]
    assert codes == ["write the 'test-plan' part yourself"]


def test_start_work_names_the_next_patch_and_fixes_the_issue(workspace: Workspace):
    _recipe(workspace, "pytorch")
    _series(workspace, "pytorch")
    w = Ws(workspace.root)
    with Store(store_path(w)) as store:
        store.upsert_items(
            [
                Item(
                    repo="example/demo",
                    number=7,
                    is_pull_request=False,
                    title="f1 is slow for large inputs",
                    body="",
                    state="open",
                    author="someone",
                    labels=("good first issue",),
                    assignees=(),
                    comments=0,
                    created_at="2026-11-01T00:00:00Z",
                    updated_at="2026-11-02T00:00:00Z",
                    closed_at=None,
                    url="https://github.com/example/demo/issues/7",
                    draft=None,
                    linked_issues=(),
                )
            ]
        )
    res = run_cli("pr", "start", "demo", "7", "--json")
    assert res.code == 0, res.err
    item = json.loads(res.out)
    assert item["subject"] == "Fix #7: f1 is slow for large inputs"
    assert item["patch_file"] == "0003-Fix-7-f1-is-slow-for-large-inputs.patch"
    doc = draft()
    assert doc["issue"] == 7
    assert "Fixes #7 (f1 is slow for large inputs)" in doc["body"]
    # The name is format-patch's own: commit with that subject and refresh.
    workspace.commit_patched({"pkg/util.py": "VALUE = 5\n"}, item["subject"])
    assert run_cli("patches", "refresh", "demo").code == 0
    assert workspace.series()[-1] == item["patch_file"]
    assert run_cli("pr", "start", "demo", "--stop").code == 0
    assert draft()["issue"] is None


def test_bad_input_is_one_line_and_exit_2(workspace: Workspace):
    res = run_cli("pr", "draft", "nosuch")
    assert res.code == 2 and "nosuch" in res.err and "Traceback" not in res.err
    res = run_cli("pr", "draft", "demo")  # not cloned yet
    assert res.code == 2 and "workbench upstream fetch demo" in res.err
    _apply()
    res = run_cli("pr", "draft", "demo")
    assert res.code == 2 and "lists no patches" in res.err
    assert len(res.err.strip().splitlines()) == 1
