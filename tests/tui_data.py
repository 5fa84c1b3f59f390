"""A fixed store for the TUI tests and snapshots: issues and PRs of two upstreams, PR status,
a sync time, all at known timestamps; and the clock they are seen from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workbench.github import store as store_module
from workbench.github.model import Item, PrStatus
from workbench.github.store import Store

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
        out.append(
            PrStatus(
                i.repo,
                i.number,
                ci=("success", "failure", "pending", "none")[n // 5 % 4],
                review=("APPROVED", "CHANGES_REQUESTED", None)[n // 5 % 3],
                draft=bool(i.draft),
                mine=i.author == VIEWER,
                review_requested=i.author != VIEWER,
            )
        )
    return out


def fill(store: Store, monkeypatch) -> Store:
    """Put the fixed data into ``store``; sync times are NOW minus two hours."""
    monkeypatch.setattr(store_module, "now_utc", lambda: _stamp(NOW - timedelta(hours=2)))
    store.upsert_items(items())
    store.index_pending()
    store.replace_pr_status([DEMO, AO], statuses(), VIEWER)
    for repo in (DEMO, AO):
        store.finish_pass(repo, watermark=None, etag=None, rate_remaining=4321, rate_reset=None)
    return store
