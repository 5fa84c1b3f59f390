"""Upstream checkouts: clone, worktrees at the pin, one network operation on a re-fetch."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git


def _network_ops(trace: Path) -> int:
    """git processes that talked to the remote: each one runs upload-pack on the other side."""
    count = 0
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "start" and any(
            "upload-pack" in a for a in event.get("argv", [])[:2]
        ):
            count += 1
    return count


def test_fetch_clones_and_makes_two_worktrees(workspace, wb):
    res = wb("upstream", "fetch", "demo", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    tag = git(workspace.upstream.path, "rev-parse", "v1.0")
    assert report["cloned"] is True
    assert report["pin"] == {"ref": "v1.0", "source": "upstreams/demo/recipe.toml", "commit": tag}
    assert git(workspace.base, "rev-parse", "HEAD") == tag
    assert git(workspace.patched, "rev-parse", "HEAD") == tag
    assert git(workspace.patched, "symbolic-ref", "--short", "HEAD") == "workbench/demo"
    # Everything the tool created is git-ignored in the workbench repo.
    assert git(workspace.root, "status", "--porcelain") == ""


def test_second_fetch_is_one_network_operation(fetched, wb, monkeypatch, tmp_path):
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    res = wb("upstream", "fetch", "demo")
    assert res.code == 0, res.err
    assert _network_ops(trace) == 1
    assert "in sync with patches/" in res.out


def test_fetch_picks_up_new_upstream_commits(fetched, wb):
    new = fetched.upstream.commit({"README.md": "# demo upstream v2\n"}, "Docs")
    res = wb("upstream", "fetch", "demo", "--json")
    assert res.code == 0, res.err
    patched = json.loads(res.out)["patched"]
    assert patched == {
        "path": "upstreams/demo/patched",
        "created": False,
        "state": "in-sync",
        "stopped": None,
        "hint": None,
    }
    assert git(fetched.src, "rev-parse", "refs/remotes/origin/main") == new
    # The worktrees stay at the pin: upstream moving on does not move them.
    assert git(fetched.patched, "rev-parse", "HEAD") == git(
        fetched.upstream.path, "rev-parse", "v1.0"
    )


def test_url_override_by_env(workspace, wb, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--bare", str(workspace.upstream.path), str(mirror))
    (workspace.root / "upstreams/demo/recipe.toml").write_text(
        (workspace.root / "upstreams/demo/recipe.toml")
        .read_text()
        .replace(str(workspace.upstream.path), "https://example.invalid/demo.git")
    )
    res = wb("upstream", "fetch", "demo")
    assert res.code == 2 and "cannot fetch demo" in res.err
    # git's own last line, as text: not a Python list of lines
    assert "['" not in res.err and "fatal:" in res.err and res.err.count("\n") == 1, res.err
    monkeypatch.setenv("WORKBENCH_DEMO_URL", str(mirror))
    res = wb("upstream", "fetch", "demo", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["url"] == str(mirror)


def test_pin_override_to_a_commit(workspace, wb, monkeypatch):
    first = git(workspace.upstream.path, "rev-list", "--max-parents=0", "HEAD")
    monkeypatch.setenv("WORKBENCH_DEMO_PIN", first[:10])
    res = wb("upstream", "fetch", "demo", "--json")
    assert res.code == 0, res.err
    pin = json.loads(res.out)["pin"]
    assert pin == {"ref": first[:10], "source": "env WORKBENCH_DEMO_PIN", "commit": first}


def test_caches_left_by_running_code_do_not_make_base_dirty(fetched, wb, monkeypatch):
    """Bytecode and pytest caches in the base worktree (an upstream with no .gitignore for
    them) are nobody's work: moving the pin goes on; a real change still stops it."""
    base = fetched.root / "upstreams" / "demo" / "base"
    pkg = next(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (base / ".pytest_cache").mkdir()
    (base / ".pytest_cache" / "README.md").write_text("cache\n")
    later = git(fetched.upstream.path, "rev-parse", "main")  # a commit past the pin
    monkeypatch.setenv("WORKBENCH_DEMO_PIN", later[:10])
    res = wb("upstream", "fetch", "demo")
    assert res.code == 0, res.err
    assert git(base, "rev-parse", "HEAD") == later
    (base / "notes.txt").write_text("mine\n")
    monkeypatch.delenv("WORKBENCH_DEMO_PIN")
    res = wb("upstream", "fetch", "demo")
    assert res.code == 2 and "has changes (1 files, e.g. ?? notes.txt)" in res.err


def test_unknown_pin_exits_2(workspace, wb, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DEMO_PIN", "v9.9")
    res = wb("upstream", "fetch", "demo")
    assert res.code == 2
    assert "pin 'v9.9' is not a tag, branch or commit" in res.err


def test_commands_before_fetch_say_how_to_fetch(workspace, wb):
    res = wb("patches", "status", "demo")
    assert res.code == 2
    assert "run: workbench upstream fetch demo" in res.err


def test_doctor_and_upstream_list(workspace, wb):
    res = wb("doctor", "--json")
    assert res.code == 0, res.err
    checks = {c["name"]: c for c in json.loads(res.out)}
    assert checks["recipe demo"]["level"] == "ok"
    assert checks["clone demo"]["level"] == "warn"
    assert "workbench upstream fetch demo" in checks["clone demo"]["detail"]
    assert wb("upstream", "fetch", "demo").code == 0
    listed = json.loads(wb("upstream", "list", "--json").out)
    assert [(u["name"], u["fetched"], u["pin"]) for u in listed] == [("demo", True, "v1.0")]
    (workspace.root / "upstreams/demo/recipe.toml").write_text("[upstream]\n")
    res = wb("doctor", "--json")
    assert res.code == 1
    checks = {c["name"]: c for c in json.loads(res.out)}
    assert checks["recipe demo"]["level"] == "fail"
    assert "key 'upstream.repo': is missing" in checks["recipe demo"]["detail"]
