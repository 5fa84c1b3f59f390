"""The patch-series engine through the CLI: apply, refresh, rebase, conflicts, guard rails."""

from __future__ import annotations

import json
import shutil

from tests.conftest import git
from workbench.display import WORKTREE_SENTENCE, worktree_sentence
from workbench.gitops.status import HeadOutcome, SeriesStatus, WorktreeState

MOD = "pkg/mod.py"


def _mod(fetched) -> str:
    return (fetched.patched / MOD).read_text()


def _edit_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_refresh_writes_format_patch_files_and_apply_recreates(fetched, wb):
    text = _mod(fetched)
    fetched.commit_patched({MOD: _edit_line(text, "x + 3", "x + 30")}, "Make f3 bigger")
    fetched.commit_patched({"pkg/new.py": "NEW = True\n"}, "Add new module")
    tip_tree = git(fetched.patched, "rev-parse", "HEAD^{tree}")
    res = wb("patches", "refresh", "demo")
    assert res.code == 0, res.err
    assert fetched.series() == ["0001-Make-f3-bigger.patch", "0002-Add-new-module.patch"]
    # The header comment of the series file survives the rewrite.
    assert (fetched.patches / "series").read_text().startswith("# demo series\n")
    patch = (fetched.patches / "0001-Make-f3-bigger.patch").read_text()
    assert patch.startswith("From 0000000000000000000000000000000000000000 ")
    assert "Subject: [PATCH] Make f3 bigger" in patch
    # Rebuild the worktree from the files alone: the same tree comes back.
    res = wb("patches", "apply", "demo")
    assert res.code == 0, res.err
    assert "applied 2 patch(es)" in res.out
    assert git(fetched.patched, "rev-parse", "HEAD^{tree}") == tip_tree
    # A refresh with nothing changed writes nothing.
    res = wb("patches", "refresh", "demo")
    assert res.code == 0 and "up to date" in res.out


def test_refresh_handles_edit_reorder_and_drop(fetched, wb):
    text = _mod(fetched)
    fetched.commit_patched({MOD: _edit_line(text, "x + 1\n", "x + 10\n")}, "First")
    fetched.commit_patched({"pkg/util.py": "VALUE = 2\n"}, "Second")
    fetched.commit_patched({"pkg/b.py": "B = 1\n"}, "Third")
    assert wb("patches", "refresh", "demo").code == 0
    base = git(fetched.src, "rev-parse", "v1.0")
    # Reorder (Third, First), edit First, drop Second: a StGit-like history rewrite.
    first, _second, third = git(fetched.patched, "rev-list", "--reverse", f"{base}..HEAD").split()
    git(fetched.patched, "reset", "-q", "--hard", base)
    git(fetched.patched, "cherry-pick", third)
    fetched.commit_patched({"pkg/b.py": "B = 2\n"}, "Fixup")
    git(fetched.patched, "reset", "-q", "--soft", "HEAD~2")
    git(fetched.patched, "commit", "-q", "-m", "Third, edited")
    git(fetched.patched, "cherry-pick", first)
    res = wb("patches", "refresh", "demo", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["entries"] == ["0001-Third-edited.patch", "0002-First.patch"]
    assert set(report["removed"]) == {"0001-First.patch", "0002-Second.patch", "0003-Third.patch"}
    assert sorted(p.name for p in fetched.patches.iterdir()) == [
        "0001-Third-edited.patch",
        "0002-First.patch",
        "series",
    ]
    # Dropped patches are not lost: the previous folder is kept whole.
    kept = fetched.root / report["kept_old"]
    assert (kept / "0002-Second.patch").is_file()
    tree = git(fetched.patched, "rev-parse", "HEAD^{tree}")
    assert wb("patches", "apply", "demo").code == 0
    assert git(fetched.patched, "rev-parse", "HEAD^{tree}") == tree


def test_refresh_refuses_uncommitted_work_and_lists_it(fetched, wb):
    fetched.commit_patched({"pkg/util.py": "VALUE = 3\n"}, "Change value")
    assert wb("patches", "refresh", "demo").code == 0
    before = fetched.snapshot()
    (fetched.patched / MOD).write_text("changed but not committed\n")
    (fetched.patched / "pkg" / "untracked.py").write_text("x = 1\n")
    for args in (("refresh", "demo"), ("apply", "demo"), ("rebase", "demo", "--onto", "main")):
        res = wb("patches", *args)
        assert res.code == 2, args
        assert "uncommitted changes: M pkg/mod.py, ?? pkg/untracked.py" in res.err
        assert res.err.count("\n") == 1
    assert fetched.snapshot() == before
    assert (fetched.patched / MOD).read_text() == "changed but not committed\n"


def test_apply_refuses_to_drop_unsaved_commits_unless_forced(fetched, wb):
    fetched.commit_patched({"pkg/util.py": "VALUE = 4\n"}, "Unsaved work")
    head = git(fetched.patched, "rev-parse", "HEAD")
    res = wb("patches", "apply", "demo")
    assert res.code == 2
    assert "1 commit(s) not saved to patches/demo/ (e.g. 'Unsaved work')" in res.err
    assert git(fetched.patched, "rev-parse", "HEAD") == head
    res = wb("patches", "apply", "demo", "--force")
    assert res.code == 0, res.err
    backups = git(fetched.src, "for-each-ref", "--format=%(objectname)", "refs/workbench/backup/")
    assert backups == head


def test_refresh_refuses_to_overwrite_hand_edited_patch_files(fetched, wb):
    fetched.commit_patched({"pkg/util.py": "VALUE = 5\n"}, "Value five")
    assert wb("patches", "refresh", "demo").code == 0
    patch = fetched.patches / "0001-Value-five.patch"
    patch.write_text(patch.read_text().replace("VALUE = 5", "VALUE = 6"))
    fetched.commit_patched({"pkg/other.py": "O = 1\n"}, "Another")
    res = wb("patches", "refresh", "demo")
    assert res.code == 2
    assert "changed since upstreams/demo/patched was built" in res.err
    assert "VALUE = 6" in patch.read_text()
    res = wb("patches", "status", "demo", "--json")
    assert json.loads(res.out)["worktree"]["state"] == "unsaved-commits"


def _conflicting_series(fetched, wb) -> None:
    """A one-patch series that conflicts with upstream main's next commit."""
    text = _mod(fetched)
    fetched.commit_patched({MOD: _edit_line(text, "x + 5\n", "x + 50\n")}, "Tune f5")
    assert wb("patches", "refresh", "demo").code == 0
    upstream_text = (fetched.upstream.path / MOD).read_text()
    fetched.upstream.commit({MOD: _edit_line(upstream_text, "x + 5\n", "x + 500\n")}, "Upstream f5")
    assert wb("upstream", "fetch", "demo").code == 0


def test_rebase_conflict_reports_patch_files_and_hunks_then_abort(fetched, wb):
    _conflicting_series(fetched, wb)
    before_patches = fetched.snapshot()
    before_head = git(fetched.patched, "rev-parse", "HEAD")
    res = wb("patches", "status", "demo", "--json")
    applies = json.loads(res.out)["applies_to_head"]
    assert applies["ok"] is False and applies["outcome"] == "conflict"
    assert applies["failed"] == "0001-Tune-f5.patch" and applies["conflicts"] == [MOD]
    text = wb("patches", "status", "demo").out
    assert f"onto main: conflicts at 0001-Tune-f5.patch ({MOD})" in text
    res = wb("patches", "rebase", "demo", "--onto", "main")
    assert res.code == 1
    assert "0001-Tune-f5.patch (1 of 1) does not apply:" in res.out  # what to resolve
    assert "pkg/mod.py: lines " in res.out
    assert res.err.count("\n") == 1  # and one line saying what happened and what to do
    assert "--continue" in res.err and "--abort" in res.err
    assert fetched.snapshot() == before_patches
    assert "<<<<<<<" in _mod(fetched)
    wt = json.loads(wb("patches", "status", "demo", "--json").out)["worktree"]
    assert (wt["state"], wt["stopped"]) == ("conflict", "rebase")
    assert "`workbench patches rebase demo --continue`" in wt["hint"]
    assert "worktree  upstreams/demo/patched: rebase stopped on a conflict" in (
        wb("patches", "status", "demo").out
    )
    # Anything else waits for the conflict to be finished.
    res = wb("patches", "refresh", "demo")
    assert res.code == 2 and "stopped on a conflict" in res.err
    res = wb("patches", "rebase", "demo", "--abort")
    assert res.code == 0, res.err
    assert git(fetched.patched, "rev-parse", "HEAD") == before_head
    assert git(fetched.patched, "status", "--porcelain") == ""
    assert fetched.snapshot() == before_patches
    st = json.loads(wb("patches", "status", "demo", "--json").out)
    assert st["worktree"]["state"] == "in-sync"


def test_rebase_conflict_continue_records_the_new_base(fetched, wb):
    _conflicting_series(fetched, wb)
    main = git(fetched.src, "rev-parse", "refs/remotes/origin/main")
    assert wb("patches", "rebase", "demo", "--onto", "main").code == 1
    resolved = (fetched.upstream.path / MOD).read_text().replace("x + 500\n", "x + 5000\n")
    (fetched.patched / MOD).write_text(resolved)
    res = wb("patches", "rebase", "demo", "--continue")
    assert res.code == 2 and "unresolved or unstaged" in res.err
    git(fetched.patched, "add", MOD)
    res = wb("patches", "rebase", "demo", "--continue")
    assert res.code == 0, res.err
    series_text = (fetched.patches / "series").read_text()
    assert f"# workbench-base: {main}" in series_text
    assert "x + 5000" in (fetched.patches / "0001-Tune-f5.patch").read_text()
    st = json.loads(wb("patches", "status", "demo", "--json").out)
    assert st["pin"]["commit"] == main
    assert st["pin"]["source"] == "patches/demo/series (workbench-base)"
    assert st["worktree"]["state"] == "in-sync"
    assert st["applies_to_head"]["clean"] is True
    assert git(fetched.base, "rev-parse", "HEAD") == main
    # The recorded base is what apply uses from now on.
    assert wb("patches", "apply", "demo").code == 0
    assert git(fetched.patched, "rev-parse", "HEAD~1") == main


def test_clean_rebase_moves_the_series(fetched, wb):
    fetched.commit_patched({"pkg/new.py": "N = 1\n"}, "Add new")
    assert wb("patches", "refresh", "demo").code == 0
    main = git(fetched.src, "rev-parse", "refs/remotes/origin/main")
    res = wb("patches", "rebase", "demo", "--onto", "origin/main")
    assert res.code == 0, res.err
    assert (fetched.patches / "series").read_text().splitlines()[0] == f"# workbench-base: {main}"
    assert git(fetched.patched, "rev-parse", "HEAD~1") == main


def test_apply_conflict_continue_and_abort(fetched, wb, monkeypatch):
    _conflicting_series(fetched, wb)
    before = fetched.snapshot()
    # Point the pin at upstream's main, where the patch conflicts.
    monkeypatch.setenv("WORKBENCH_DEMO_PIN", "main")
    res = wb("patches", "apply", "demo")
    assert res.code == 1
    assert "0001-Tune-f5.patch (1 of 1) does not apply" in res.out
    assert res.err.count("\n") == 1, res.err
    assert fetched.snapshot() == before
    git(fetched.patched, "checkout", "--theirs", MOD)
    git(fetched.patched, "add", MOD)
    res = wb("patches", "apply", "demo", "--continue")
    assert res.code == 0, res.err
    assert "workbench patches refresh demo" in res.out
    st = json.loads(wb("patches", "status", "demo", "--json").out)
    assert st["worktree"]["state"] == "unsaved-commits"
    assert wb("patches", "refresh", "demo").code == 0
    assert fetched.snapshot() != before


def test_status_reports_patches_and_changed_files(fetched, wb):
    moved = (fetched.patched / MOD).read_text()
    fetched.commit_patched({"README.md": None, "pkg/renamed.py": moved, MOD: None}, "Move mod")
    fetched.commit_patched({"test/test_new.py": "def test_x():\n    pass\n"}, "Add a test")
    assert wb("patches", "refresh", "demo").code == 0
    res = wb("patches", "status", "demo", "--json")
    assert res.code == 0, res.err
    st = json.loads(res.out)
    assert st["schema"] == SeriesStatus.SCHEMA == 1
    # The document is the dataclass: it reads back into the same value and prints the same.
    typed = SeriesStatus.from_json(st)
    assert typed.to_json() == st
    assert typed.worktree.state is WorktreeState.IN_SYNC and typed.worktree.hint is None
    assert typed.head_outcome is HeadOutcome.CLEAN and st["applies_to_head"]["outcome"] == "clean"
    assert [p["subject"] for p in st["patches"]] == ["Move mod", "Add a test"]
    files = st["patches"][0]["files"]
    assert {"path": "pkg/renamed.py", "renamed_from": MOD, "added": 0, "deleted": 0} in files
    assert st["patches"][1]["added"] == 2
    assert st["changed_files"] == ["README.md", "pkg/mod.py", "pkg/renamed.py", "test/test_new.py"]
    assert st["applies_to_head"]["clean"] is True
    assert st["upstream_head"]["commits_since_pin"] == 1
    text = wb("patches", "status", "demo")
    assert "Move mod" in text.out and "applies cleanly" in text.out


def _worktree(wb) -> tuple[dict, str]:
    """The worktree part of `patches status --json`, and the human output's worktree line."""
    doc = json.loads(wb("patches", "status", "demo", "--json", "--no-check").out)
    line = next(
        ln
        for ln in wb("patches", "status", "demo", "--no-check").out.splitlines()
        if ln.startswith("worktree  ")
    )
    return doc["worktree"], line


def test_every_worktree_state_is_reported_in_json_and_in_words(fetched, wb):
    assert set(WORKTREE_SENTENCE) == set(WorktreeState)
    wt, line = _worktree(wb)
    assert (wt["state"], wt["hint"], wt["stopped"]) == ("in-sync", None, None)
    assert line == "worktree  upstreams/demo/patched: in sync with patches/"
    fetched.commit_patched({"pkg/util.py": "VALUE = 8\n"}, "Value eight")
    wt, line = _worktree(wb)
    assert (wt["state"], wt["hint"]) == ("unsaved-commits", "workbench patches refresh demo")
    assert line.endswith(": has commits not saved to patches/  → workbench patches refresh demo")
    assert wb("patches", "refresh", "demo").code == 0
    assert _worktree(wb)[0]["state"] == "in-sync"
    patch = fetched.patches / "0001-Value-eight.patch"
    patch.write_text(patch.read_text().replace("VALUE = 8", "VALUE = 9"))
    wt, line = _worktree(wb)
    assert (wt["state"], wt["hint"]) == ("patches-changed", "workbench patches apply demo")
    assert line.endswith(": patches/ changed since it was built  → workbench patches apply demo")
    # Uncommitted files are listed whatever the state.
    (fetched.patched / "pkg" / "scratch.py").write_text("S = 1\n")
    assert _worktree(wb)[0]["uncommitted"] == ["?? pkg/scratch.py"]
    shutil.rmtree(fetched.patched)
    wt, line = _worktree(wb)
    assert (wt["state"], wt["head"], wt["hint"]) == (
        "missing",
        None,
        "workbench patches apply demo",
    )
    assert line.endswith(": missing  → workbench patches apply demo")
    assert wb("patches", "apply", "demo").code == 0
    assert _worktree(wb)[0]["state"] == "in-sync"
    assert worktree_sentence(WorktreeState.CONFLICT, "apply") == "apply stopped on a conflict"


def test_a_series_that_needs_a_three_way_merge_says_which_patches(fetched, wb):
    text = _mod(fetched)
    fetched.commit_patched({MOD: _edit_line(text, "x + 9\n", "x + 90\n")}, "Tune f9")
    assert wb("patches", "refresh", "demo").code == 0
    # Upstream shifts the lines above the hunk and changes its context: a plain apply fails,
    # a three-way merge does not.
    upstream_text = (fetched.upstream.path / MOD).read_text()
    moved = "# header\n" * 3 + _edit_line(upstream_text, "def f8(x)", "def f8(y)")
    moved = moved.replace("    return x + 8", "    return y + 8")
    fetched.upstream.commit({MOD: moved}, "Upstream f8")
    assert wb("upstream", "fetch", "demo").code == 0
    applies = json.loads(wb("patches", "status", "demo", "--json").out)["applies_to_head"]
    assert (applies["outcome"], applies["ok"], applies["clean"]) == ("3-way", True, False)
    assert applies["three_way"] == ["0001-Tune-f9.patch"]
    text = wb("patches", "status", "demo").out
    assert "onto main: applies with a 3-way merge (0001-Tune-f9.patch)" in text


def test_range_diff_against_the_committed_series(fetched, wb):
    text = _mod(fetched)
    fetched.commit_patched({MOD: _edit_line(text, "x + 2\n", "x + 20\n")}, "Tune f2")
    fetched.commit_patched({"pkg/util.py": "VALUE = 7\n"}, "Value seven")
    assert wb("patches", "refresh", "demo").code == 0
    git(fetched.root, "add", "patches")
    git(fetched.root, "commit", "-q", "-m", "series v1")
    # v2: amend the first patch, keep the second.
    base = git(fetched.src, "rev-parse", "v1.0")
    first, second = git(fetched.patched, "rev-list", "--reverse", f"{base}..HEAD").split()
    git(fetched.patched, "reset", "-q", "--hard", first)
    fetched.commit_patched({MOD: _edit_line(_mod(fetched), "x + 20\n", "x + 200\n")}, "amend")
    git(fetched.patched, "reset", "-q", "--soft", "HEAD~2")
    git(fetched.patched, "commit", "-q", "-m", "Tune f2")
    git(fetched.patched, "cherry-pick", second)
    assert wb("patches", "refresh", "demo").code == 0
    res = wb("patches", "range-diff", "demo")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("1:") and "! 1:" in lines[0] and "Tune f2" in lines[0]
    assert any(ln.startswith("2:") and " = 2:" in ln and "Value seven" in ln for ln in lines)
    assert "x + 200" in res.out
    # An empty old side: every patch is new.
    res = wb("patches", "range-diff", "demo", "HEAD~1")
    assert res.code == 0, res.err
    assert res.out.count("-:  ") == 2
    res = wb("patches", "range-diff", "demo", "nosuchrev")
    assert res.code == 2 and "'nosuchrev' is not a commit" in res.err


def test_series_file_errors_are_clear(fetched, wb):
    (fetched.patches / "series").write_text("0001-missing.patch\n")
    res = wb("patches", "apply", "demo")
    assert res.code == 2
    assert "patches/demo/series lists 0001-missing.patch, which is not in demo/" in res.err
    (fetched.patches / "series").write_text("a.patch -p0\n")
    res = wb("patches", "status", "demo")
    assert res.code == 2 and "unsupported option '-p0'" in res.err
