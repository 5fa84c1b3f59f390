"""A fixed store for the TUI tests and snapshots: issues and PRs of two upstreams, PR status,
a sync time, all at known timestamps; and the clock they are seen from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from workbench.github.model import CiCheck, Comment, Item, Notification, PrStatus, Review, Thread
from workbench.github.store import Store, StoredJobLog
from workbench.github.store import state as store_module

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VIEWER = "ada"
DEMO, AO = "example/demo", "pytorch/ao"

BODY = """\
The `scale` op is slow for **large** inputs.

- happens with n > 2**20
- see [the benchmark](https://example.com/bench)

```python
scale(torch.ones(2**21))
```
"""


def clock() -> datetime:
    return NOW


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def items() -> list[Item]:
    out = []
    topics = ["scale", "quantize", "float8", "docs", "sparsity", "optim", "clamp", "kernel"]
    for n in range(1, 41):
        repo = DEMO if n % 2 else AO
        pr = n % 5 == 0
        labels: tuple[str, ...] = ("bug",) if n % 3 else ("good first issue",)
        if n % 4 == 0:
            labels += ("performance",)
        if pr and n % 10 == 0:
            labels += ("module: quantization",)
        topic = topics[n % len(topics)]
        out.append(
            Item(
                repo=repo,
                number=100 + n,
                is_pull_request=pr,
                title=f"{'Speed up' if pr else 'Fix'} {topic} for case {n}",
                body=BODY if n % 2 else f"Details about {topic}.\n\nFixes #{n}.",
                state="open" if n % 13 else "closed",
                author=VIEWER if pr and n % 10 == 5 else f"user{n % 4}",
                labels=labels,
                assignees=() if n % 7 else ("bob",),
                comments=n % 3,
                created_at=_stamp(NOW - timedelta(days=60 - n)),
                # every 6th untouched for 40+ days: stale
                updated_at=_stamp(NOW - timedelta(days=45 if n % 6 == 0 else 0, hours=n)),
                closed_at=None if n % 13 else _stamp(NOW - timedelta(hours=n)),
                url=f"https://github.com/{repo}/{'pull' if pr else 'issues'}/{100 + n}",
                draft=(n % 15 == 0) if pr else None,
                linked_issues=(n,) if pr and n % 2 == 0 else (),
            )
        )
    return out


def statuses() -> list[PrStatus]:
    out = []
    for i in items():
        if not i.is_pull_request:
            continue
        n = i.number - 100
        ci = ("success", "failure", "pending", "none")[n // 5 % 4]
        review = ("APPROVED", "CHANGES_REQUESTED", None)[n // 5 % 3]
        pushed = _stamp(NOW - timedelta(hours=6))
        out.append(
            PrStatus(
                i.repo,
                i.number,
                ci=ci,
                review=review,
                draft=bool(i.draft),
                mine=i.author == VIEWER,
                review_requested=i.author != VIEWER,
                mergeable="CONFLICTING" if n % 10 == 5 else "MERGEABLE",
                last_push=pushed,
                labels=i.labels,
                checks=(
                    CiCheck("build", "Build", "success", "completed", None, 9000 + 2 * n, 7, None),
                    CiCheck(
                        "test (cpu, 1, 2)",
                        "Run regression tests",
                        "failure" if ci == "failure" else "success",
                        "completed",
                        f"https://github.com/{i.repo}/actions/runs/7/job/{9001 + 2 * n}",
                        9001 + 2 * n,
                        7,
                        None,
                    ),
                ),
                checks_total=2,
                reviews=(Review("reviewer", "CHANGES_REQUESTED", pushed, None),)
                if review == "CHANGES_REQUESTED"
                else (),
                threads=(
                    Thread(
                        "torchao/quantization/utils.py",
                        42,
                        False,
                        "reviewer",
                        "Why fp64 here? The scale can stay fp32.",
                        _stamp(NOW - timedelta(hours=3)),
                        None,
                        2,
                    ),
                )
                if review == "CHANGES_REQUESTED"
                else (),
                threads_total=1 if review == "CHANGES_REQUESTED" else 0,
                comments=(Comment("pytorch-bot", "CI is red on test (cpu, 1, 2)", pushed, None),)
                if ci == "failure"
                else (),
            )
        )
    return out


def job_log(store: Store, pr: int) -> None:
    """A fetched log for the failing job of PR ``pr`` (its first error in the detail pane)."""
    n = pr - 100
    block = (
        "FAILED test/test_mod.py::test_scale - AssertionError: torch.float64 != torch.float32\n"
        "=============== 1 failed, 40 passed in 12.31s ===============\n"
        "\n"
        ">       assert scale.dtype == torch.float32\n"
        "E       AssertionError: torch.float64 != torch.float32\n"
        "test/test_mod.py:12: AssertionError"
    )
    store.save_job_log(
        StoredJobLog(
            DEMO,
            9001 + 2 * n,
            "Run regression tests / test (cpu, 1, 2)",
            _stamp(NOW - timedelta(hours=1)),
            f"logs/example/demo/{9001 + 2 * n}.log.gz",
            48213,
            block.splitlines()[0],
            block,
        )
    )


def notifications() -> list[Notification]:
    return [
        Notification(
            str(7000 + k),
            (DEMO, AO)[k % 2],
            ("review_requested", "mention", "author", "ci_activity")[k % 4],
            ("PullRequest", "Issue", "PullRequest", "CheckSuite")[k % 4],
            f"Notification {k}: " + ("Speed up the scale kernel", "fp8 rowwise", "CI")[k % 3],
            None if k % 4 == 3 else 100 + k,
            f"https://github.com/{(DEMO, AO)[k % 2]}/pull/{100 + k}",
            _stamp(NOW - timedelta(hours=k)),
            True,
            None,
        )
        for k in range(6)
    ]


def fill(store: Store, monkeypatch) -> Store:
    """Put the fixed data into ``store``; sync times are NOW minus two hours."""
    monkeypatch.setattr(store_module, "now_utc", lambda: _stamp(NOW - timedelta(hours=2)))
    store.upsert_items(items())
    store.index_pending()
    store.replace_pr_status([DEMO, AO], statuses(), VIEWER)
    job_log(store, 105)
    store.upsert_notifications(notifications())
    for repo in (DEMO, AO):
        store.finish_pass(repo, watermark=None, etag=None, rate_remaining=4321, rate_reset=None)
    return store


# --- a workspace: the demo upstream (fetched, one patch), ao's real recipe, a synthetic noxfile --

REQUIRED = """
[[labels.required]]
any_prefix = ["module:"]
why = "CI fails a PR without a label starting 'module:'"
"""

NOXFILE = '''\
"""Synthetic sessions for the TUI tests: fast, no venv, a real nox process."""

import json
import os
import sys
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"


def _write(kind: str, doc: dict) -> None:
    from workbench.gitops.series import load_series

    home = Path(os.environ.get("WORKBENCH_HOME") or Path.cwd() / ".workbench")
    folder = home / "runs" / "demo" / f"20250301-120000-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    doc |= {
        "schema": 1,
        "kind": kind,
        "upstream": "demo",
        "started": "2025-03-01T11:00:00+00:00",
        "device": "cpu",
        "series_digest": load_series(Path.cwd() / "patches" / "demo").digest(),
    }
    (folder / f"{kind}.json").write_text(json.dumps(doc))


@nox.session(python=False)
def demo_tests(session):
    """Print a few lines and record a passing tests.json."""
    for i in range(3):
        print(f"synthetic step {i}", flush=True)
        time.sleep(0.1)
    _write("tests", {
        "counts": {"passed": 3, "failed": 0, "error": 0, "skipped": 2},
        "skipped_by_reason": {"needs CUDA": 2},
        "regressions": [],
        "preexisting": [],
    })


@nox.session(python=False)
def demo_bench(session):
    """Announce itself, then run until cancelled."""
    Path(os.environ["WORKBENCH_HOME"], "bench.pid").write_text(str(os.getpid()))
    print("bench started", flush=True)
    time.sleep(120)
'''


def make_workspace(fetched, monkeypatch) -> Path:
    """``fetched`` (conftest's demo workspace, fetched) plus ao's recipe, a noxfile, one patch."""
    from tests.conftest import REPO_ROOT, write

    root = fetched.root
    recipe = root / "upstreams" / "demo" / "recipe.toml"
    recipe.write_text(recipe.read_text() + REQUIRED)
    write(
        root / "upstreams" / "ao" / "recipe.toml",
        (REPO_ROOT / "upstreams/ao/recipe.toml").read_text(),
    )
    write(root / "noxfile.py", NOXFILE)
    home = root / ".workbench"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    fetched.commit_patched({"README.md": "# demo upstream\n\nNow faster.\n"}, "Say it is faster")
    from workbench.config import load_recipe
    from workbench.gitops.engine import SeriesEngine
    from workbench.paths import Workspace

    ws = Workspace(root)
    SeriesEngine(ws, load_recipe(ws, "demo")).refresh()
    return root


def write_bench_run(root: Path, digest: str | None) -> None:
    """A bench.json as `workbench bench run` writes it, for the Runs view."""
    import json

    folder = root / ".workbench" / "runs" / "demo" / "20250228-090000-bench"
    folder.mkdir(parents=True)
    cases = [
        {"id": "scale[n=4096]", "verdict": "faster", "ratio": 0.82, "ci": [0.79, 0.85]},
        {"id": "scale[n=65536]", "verdict": "unchanged", "ratio": 1.004, "ci": [0.99, 1.02]},
    ]
    for case in cases:
        case["processes"] = {"baseline": 8, "patched": 8}
    doc = {
        "schema": 1,
        "kind": "bench",
        "upstream": "demo",
        "started": "2025-02-28T09:00:00+00:00",
        "device": "cpu",
        "series_digest": digest,
        "summary": {"faster": 1, "unchanged": 1},
        "cases": cases,
    }
    (folder / "bench.json").write_text(json.dumps(doc))
