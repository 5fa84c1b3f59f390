"""``workbench remote``: real PyGithub over HTTP to the fake GitHub, a real bare fork, real git."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import github_server
from tests.conftest import Workspace, git, run_cli, write
from tests.github_actions import FakeActions, Plan
from tests.github_server import TOKEN, FakeGitHub
from workbench.config import load_recipe
from workbench.gitops.engine import SeriesEngine
from workbench.paths import Workspace as Ws
from workbench.remote.workflow import artifact_name
from workbench.runs import list_runs

fake_github = github_server.fake_github

REPO = "me/workbench"
LOCAL_RUN = "20260301-101500-bench"


@dataclass
class Remote:
    ws: Workspace
    server: FakeGitHub
    actions: FakeActions
    bare: Path

    @property
    def runs(self) -> Path:
        return self.ws.root / ".workbench" / "runs" / "demo"

    def change_and_push(self, *, push: bool = True) -> str:
        """A commit in the patched worktree, refreshed, committed, pushed: what a user does."""
        self.ws.commit_patched({"pkg/util.py": "VALUE = 2\n"}, "Change VALUE")
        assert run_cli("patches", "refresh", "demo").code == 0
        git(self.ws.root, "add", "-A")
        git(self.ws.root, "commit", "-q", "-m", "demo series")
        if push:
            git(self.ws.root, "push", "-q", "fork", "main")
        return self.digest()

    def digest(self) -> str:
        ws = Ws(self.ws.root)
        return SeriesEngine(ws, load_recipe(ws, "demo")).series().digest()

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for r in self.server.requests if r.method == method and pattern in r.path)

    def written_files(self) -> list[Path]:
        return [p for p in (self.ws.root / ".workbench").rglob("*") if p.is_file()]


def bench_files(digest: str, device: str = "NVIDIA H100") -> dict[str, bytes | str]:
    """What the workflow uploads after `nox -s demo_bench` on a GPU runner."""
    doc = {
        "schema": 1,
        "kind": "bench",
        "run_id": LOCAL_RUN,
        "device": "cuda",
        "series_digest": digest,
        "started": "2026-03-01T10:15:00+00:00",
        "summary": {"faster": 1},
        "cases": [],
    }
    return {
        "device.txt": device + "\n",
        "nox.log": "nox > Session demo_bench was successful.\n",
        f"{LOCAL_RUN}/bench.json": json.dumps(doc),
        f"{LOCAL_RUN}/bench.png": b"\x89PNG\r\n\x1a\n",
    }


@pytest.fixture
def remote(fetched: Workspace, fake_github: FakeGitHub, tmp_path: Path, monkeypatch) -> Remote:
    bare = tmp_path / "forks" / "me" / "workbench.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(fetched.root, "remote", "add", "fork", str(bare))
    git(fetched.root, "push", "-q", "fork", "main")
    actions = FakeActions(REPO, bare).install(fake_github)
    for var, value in {
        "WORKBENCH_GITHUB_API": fake_github.url,
        "WORKBENCH_GITHUB_BACKOFF": "0",
        "WORKBENCH_GITHUB_TIMEOUT": "5",
        "WORKBENCH_REMOTE_POLL": "0",
        "WORKBENCH_REMOTE_QUEUE_TIMEOUT": "60",
        "WORKBENCH_REMOTE_FIND_TIMEOUT": "60",
        "GH_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return Remote(fetched, fake_github, actions, bare)


def one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith("workbench:")]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# --- the whole way ---------------------------------------------------------------------------


def test_run_wait_brings_the_results_home_marked_with_the_runners_device(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.plan = Plan(files=bench_files(digest))
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 0, res.err

    (body,) = remote.actions.dispatches
    assert body["ref"] == "main"
    inputs = body["inputs"]
    # The exact commit the tree check saw, not the branch that may move meanwhile.
    assert inputs["ref"] == git(remote.bare, "rev-parse", "main")
    assert inputs["upstream"] == "demo" and inputs["session"] == "bench"
    assert json.loads(inputs["runner_labels"]) == ["self-hosted", "linux", "gpu"]

    run_id = 7001
    folder = remote.runs / str(run_id)
    assert sorted(p.name for p in folder.iterdir()) == [
        "bench.json",
        "bench.png",
        "device.txt",
        "nox.log",
        "remote.json",
    ]
    meta = json.loads((folder / "remote.json").read_text())
    assert meta["device"] == "NVIDIA H100"
    assert meta["conclusion"] == "success"
    assert meta["artifact"] == artifact_name("demo", "bench", run_id)
    assert meta["dispatched_ref"]["commit"] == inputs["ref"]
    assert meta["series_digest"] == digest

    # The run index (TUI, PR drafter) sees it as a current remote run on the runner's device.
    (found,) = list_runs(Ws(remote.ws.root), "demo")
    assert (found.run_id, found.origin, found.device) == (str(run_id), "remote", "NVIDIA H100")
    assert found.is_current(digest)

    # Requests: one dispatch with the run id in its answer (no list polling), three looks at
    # the run (queued, in progress, completed), one artifact list, one download + its storage.
    assert remote.count("POST", "/dispatches") == 1
    assert remote.actions.list_calls == 0
    assert remote.count("GET", f"/actions/runs/{run_id}") == 3 + 1  # + the artifacts list
    assert remote.count("GET", "/artifacts") == 2  # the list and the zip
    storage = [r for r in remote.server.requests if r.path.startswith("/storage/")]
    assert len(storage) == 1 and not storage[0].authorized  # the token stays with GitHub

    for path in [*remote.written_files(), *remote.ws.patches.iterdir()]:
        assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in res.out + res.err


def test_a_runners_test_map_comes_home_beside_the_local_ones(remote: Remote, tmp_path: Path):
    import io
    import tarfile

    digest = remote.change_and_push()
    # What `nox -s demo_map` leaves on a GPU runner: the summary and the map inside.
    folder = "0123456789ab-cuda-1a2b3c4d"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in {
            "meta.json": json.dumps({"commit": "0123456789ab", "device": "cuda"}),
            "files/test__test_mod.json": json.dumps({"file": "test/test_mod.py", "tests": {}}),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    summary = {
        "schema": 1,
        "kind": "map",
        "series_digest": digest,
        "started": "2026-03-01T10:15:00+00:00",
        "device": "cuda",
        "complete": True,
        "map_folder": folder,
    }
    remote.actions.plan = Plan(
        files={
            "device.txt": "NVIDIA H100\n",
            "20260301-101500-map/map.json": json.dumps(summary),
            "20260301-101500-map/testmap.tar.gz": buf.getvalue(),
        }
    )
    res = run_cli("remote", "run", "demo", "--session", "map", "--repo", REPO, "--wait")
    assert res.code == 0, res.err
    assert remote.actions.dispatches[0]["inputs"]["session"] == "map"
    installed = remote.ws.root / ".workbench" / "envs" / "demo" / "maps" / folder
    assert json.loads((installed / "meta.json").read_text())["device"] == "cuda"
    assert (installed / "files" / "test__test_mod.json").is_file()
    [run] = list_runs(Ws(remote.ws.root), "demo", "map")
    assert run.verdict() == "mapped" and run.device == "NVIDIA H100"


def test_an_older_github_without_run_details_finds_the_run_by_its_dispatch_id(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.rejects_run_details = True
    remote.actions.plan = Plan(files=bench_files(digest), shows_after=3)
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 0, res.err
    # Refused with return_run_details, sent again without it; the run showed on the 3rd list.
    assert [("return_run_details" in d) for d in remote.actions.dispatches] == [True, False]
    assert remote.actions.list_calls == 3
    assert (remote.runs / "7001" / "bench.json").is_file()


def test_without_wait_it_records_the_run_and_fetch_brings_it_home_later(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.plan = Plan(files=bench_files(digest))
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 0, res.err
    assert "workbench remote fetch 7001" in res.out
    assert not remote.runs.exists()

    res = run_cli("remote", "status", "--json")
    assert res.code == 0, res.err
    (rec,) = res.json()
    assert (rec["run_id"], rec["state"], rec["folder"]) == (7001, "queued", None)

    res = run_cli("remote", "fetch", "7001")
    assert res.code == 0, res.err
    assert (remote.runs / "7001" / "bench.json").is_file()
    (rec,) = run_cli("remote", "status", "--json").json()
    assert rec["state"] == "success" and rec["folder"].endswith("runs/demo/7001")
    assert rec["device"] == "NVIDIA H100"
    before = len(remote.server.requests)
    assert run_cli("remote", "status").code == 0
    assert len(remote.server.requests) == before  # finished runs are not asked about again


def test_an_existing_run_folder_is_never_replaced(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.plan = Plan(files=bench_files(digest))
    assert run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO).code == 0
    mine = write(remote.runs / "7001" / "notes.txt", "mine\n")
    res = run_cli("remote", "fetch", "7001")
    assert res.code == 0, res.err
    assert [p.name for p in (remote.runs / "7001").iterdir()] == ["notes.txt"]
    assert mine.read_text() == "mine\n"
    assert remote.count("GET", "/zip") == 0


# --- refusals before any dispatch --------------------------------------------------------------


def test_commits_not_refreshed_are_refused(remote: Remote):
    remote.change_and_push()
    remote.ws.commit_patched({"pkg/mod.py": "X = 1\n"}, "Not refreshed")
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    assert "workbench patches refresh demo" in one_line(res.err)
    assert remote.count("POST", "") == 0


def test_uncommitted_work_in_the_worktree_is_refused(remote: Remote):
    remote.change_and_push()
    write(remote.ws.patched / "pkg" / "util.py", "VALUE = 3\n")
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    assert "uncommitted" in one_line(res.err)
    assert remote.count("POST", "") == 0


def test_a_series_not_pushed_is_refused_with_the_push_command(remote: Remote):
    remote.change_and_push(push=False)
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    line = one_line(res.err)
    assert "git push fork main" in line and "patches/demo" in line
    assert remote.count("POST", "") == 0


def test_a_series_not_committed_is_refused_with_the_commit_first(remote: Remote):
    remote.ws.commit_patched({"pkg/util.py": "VALUE = 2\n"}, "Change VALUE")
    assert run_cli("patches", "refresh", "demo").code == 0
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    line = one_line(res.err)
    assert "commit patches/demo" in line and "git push fork main" in line


def test_a_branch_missing_on_the_fork_is_refused(remote: Remote):
    remote.change_and_push()
    git(remote.ws.root, "checkout", "-q", "-b", "topic")
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    assert "branch topic is not on me/workbench" in one_line(res.err)
    assert "git push fork topic" in res.err


def test_a_fork_without_the_workflow_is_told_how_to_add_it(remote: Remote):
    remote.change_and_push()
    remote.actions.workflow = False
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    line = one_line(res.err)
    assert ".github/workflows/upstream-check.yml" in line and "default branch" in line
    assert remote.count("POST", "") == 0


def test_a_repo_that_does_not_exist_is_named(remote: Remote):
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", "me/nothing")
    assert res.code == 2
    assert "me/nothing was not found" in one_line(res.err)


def test_no_fork_and_no_token_are_usage_errors(remote: Remote, monkeypatch):
    res = run_cli("remote", "run", "demo", "--session", "bench")
    assert res.code == 2 and "--repo" in one_line(res.err)
    monkeypatch.delenv("GH_TOKEN")
    only_git = remote.bare.parent / "bin"  # git, and no `gh` to ask for a token
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(only_git))
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2 and "token" in one_line(res.err)


def test_the_fork_and_labels_can_come_from_workbench_toml(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.plan = Plan(files=bench_files(digest))
    write(
        remote.ws.root / "workbench.toml",
        '[remote]\nrepo = "me/workbench"\nrunner_labels = ["ubuntu-latest"]\n',
    )
    assert run_cli("upstream", "list").code == 0  # the recipes still load with [remote]
    res = run_cli("remote", "run", "demo", "--session", "bench")
    assert res.code == 0, res.err
    assert json.loads(remote.actions.dispatches[0]["inputs"]["runner_labels"]) == ["ubuntu-latest"]
    write(remote.ws.root / "workbench.toml", '[remote]\nrepos = "me/workbench"\n')
    res = run_cli("remote", "run", "demo", "--session", "bench")
    assert res.code == 2 and "remote.repos" in one_line(res.err)


# --- faults after the dispatch -----------------------------------------------------------------


def test_a_failed_run_still_brings_its_results_home_and_exits_1(remote: Remote):
    digest = remote.change_and_push()
    remote.actions.plan = Plan(conclusion="failure", files=bench_files(digest))
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 1
    assert "concluded failure" in one_line(res.err)
    meta = json.loads((remote.runs / "7001" / "remote.json").read_text())
    assert meta["conclusion"] == "failure" and meta["device"] == "NVIDIA H100"


def test_a_runner_that_never_comes_is_cancelled_and_named(remote: Remote):
    remote.change_and_push()
    remote.actions.plan = Plan(states=["queued"], files={})
    res = run_cli(
        "remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait",
        "--runner-labels", "self-hosted,linux", "gpu", "--poll", "0.01", "--queue-timeout", "0.1",
    )  # fmt: skip
    assert res.code == 1
    line = one_line(res.err)
    assert "[self-hosted, linux, gpu]" in line and "cancelled" in line
    assert remote.count("POST", "/actions/runs/7001/cancel") == 1
    assert remote.actions.runs[7001].cancelled
    assert not remote.runs.exists()
    (rec,) = run_cli("remote", "status", "--json", "--offline").json()
    assert (rec["state"], rec["problem"]) == ("cancelled", "no runner")


@pytest.mark.parametrize("how", ["listed expired", "410 on download"])
def test_an_expired_artifact_touches_nothing_local(remote: Remote, how: str):
    digest = remote.change_and_push()
    earlier = write(remote.runs / LOCAL_RUN / "bench.json", '{"kind": "bench"}\n')
    remote.actions.plan = Plan(
        files=bench_files(digest), expired=how == "listed expired", gone=how == "410 on download"
    )
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 1
    assert "expired" in one_line(res.err)
    assert sorted(p.name for p in remote.runs.iterdir()) == [LOCAL_RUN]  # no 7001, no temp
    assert earlier.read_text() == '{"kind": "bench"}\n'
    assert remote.count("GET", "/zip") == (1 if how == "410 on download" else 0)


def test_a_run_that_stopped_before_the_upload_says_where_the_log_is(remote: Remote):
    remote.change_and_push()
    remote.actions.plan = Plan(conclusion="failure", files=None)
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 1
    assert "https://github.com/me/workbench/actions/runs/7001" in one_line(res.err)
    assert not remote.runs.exists()


def test_an_artifact_without_results_is_not_brought_home(remote: Remote):
    remote.change_and_push()
    remote.actions.plan = Plan(conclusion="failure", files={"device.txt": "cpu\n", "nox.log": "x"})
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 1
    assert "left no bench.json" in one_line(res.err)
    assert list(remote.runs.iterdir()) == []


def test_an_artifact_reaching_outside_its_folder_is_refused(remote: Remote):
    digest = remote.change_and_push()
    files = {**bench_files(digest), "../../escaped.txt": "x"}
    remote.actions.plan = Plan(files=files)
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 1
    assert "outside its folder" in one_line(res.err)
    assert not list(remote.ws.root.rglob("escaped.txt"))
    assert list(remote.runs.iterdir()) == []


def test_patch_files_changed_since_the_worktree_was_built_are_refused(remote: Remote):
    remote.change_and_push()
    patch = next(p for p in remote.ws.patches.iterdir() if p.suffix == ".patch")
    patch.write_text(patch.read_text().replace("Change VALUE", "Change VALUE by hand"))
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO)
    assert res.code == 2
    assert "workbench patches apply demo" in one_line(res.err)
    assert remote.count("POST", "") == 0


def test_a_branch_with_an_older_workflow_gets_githubs_reason(remote: Remote):
    remote.change_and_push()
    del remote.actions.doc["on"]["workflow_dispatch"]["inputs"]["dispatch_id"]
    res = run_cli("remote", "run", "demo", "--session", "bench", "--repo", REPO, "--wait")
    assert res.code == 2
    line = one_line(res.err)
    assert "Unexpected inputs provided: ['dispatch_id']" in line and "merge" in line
    assert not remote.runs.exists()


def test_the_remote_commands_load_without_git():
    """`workbench sync` runs where git is missing; registering `remote` must not import GitPython."""
    code = (
        "import sys, workbench.remote.cli; "
        "sys.exit(1 if 'git' in sys.modules or 'workbench.gitops.engine' in sys.modules else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
