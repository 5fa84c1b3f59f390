"""``workbench prs ao#123``: one PR, as ``gh pr view`` would, with everything that blocks it in
full: the contributor's blockers, the failing checks that are not theirs with their class, the
merge base, and the comments since the last push."""

from __future__ import annotations

import argparse
import dataclasses

from rich.text import Text

from workbench.config import load_recipes
from workbench.console import out, print_json
from workbench.display import REVIEW_TEXT, ago, utc_now
from workbench.github.blocking import Blocker, first_line, read_blocking
from workbench.github.errors import NotSynced
from workbench.github.pr_ref import parse_pr_ref
from workbench.github.store import Store
from workbench.paths import Workspace


def show_pr(ws: Workspace, ref: str, args: argparse.Namespace) -> int:
    """One PR, as ``gh pr view`` would, with everything that blocks it in full."""
    recipes = load_recipes(ws)
    repo, number = parse_pr_ref(ref, {r.name: r.upstream.repo for r in recipes})
    with Store.open(ws, create=False) as store:
        t = store.item(repo, number)
        if t is None or not t.item.is_pull_request:
            raise NotSynced(
                f"{repo}#{number} is not a pull request in the store",
                "run: workbench sync (the store holds open PRs and those closed lately)",
            )
        by_repo = {r.upstream.repo: r for r in recipes}
        view = read_blocking(store, [t], by_repo, utc_now(), idle_days=args.idle_days)
    key = (repo, number)
    found, status = view.blocking.get(key, []), view.details.get(key)
    base = view.facts.bases.get(key)
    if args.json:
        doc = t.to_json() | {"blocking": [b.to_json() for b in found]}
        if status is not None:
            doc |= {
                "merge_base": base.sha if base else None,
                "mergeable": status.mergeable,
                "last_push": status.last_push,
                "checks": [dataclasses.asdict(c) for c in status.checks],
                "threads": [dataclasses.asdict(th) for th in status.threads],
                "comments_since_push": [dataclasses.asdict(c) for c in status.comments],
            }
        print_json(doc)
        return 0
    i, now = t.item, utc_now()
    out.print(Text(f"{repo}#{number} {i.title}", style="bold"))
    facts = [
        i.state,
        *(["draft"] if i.draft else []),
        f"by @{i.author}",
        f"updated {ago(i.updated_at, now)}",
    ]
    out.print(" · ".join(facts), markup=False)
    word = REVIEW_TEXT.get(t.review or "", (t.review or "no review yet",))[0]
    out.print(f"CI: {t.ci or 'unknown'} · review: {word}", markup=False)
    if status is None:
        out.print("(checks, threads and comments are synced for your PRs and review requests)")
    yours = [b for b in found if b.blocks]
    others = [b for b in found if not b.blocks]
    if yours:
        out.print("blocking:", style="red")
    else:
        out.print("nothing of yours blocks it" if others else "nothing blocks it", style="green")
    for b in yours:
        out.print(f"  {b.kind:<18} {b.name}", Text(f" {b.detail}", style="dim"), sep="")
        _print_class(b)
    if others:
        out.print("failing, not yours:", style="yellow")
        for b in others:
            out.print(f"  {b.klass:<18} {b.name}", Text(f" {b.detail}", style="dim"), sep="")
            _print_class(b, with_class=False)
    if base is not None and any(b.kind == "check" for b in found):
        where = base.sha[:12] if base.sha else f"unknown ({base.problem})"
        out.print(f"merge base with {base.base_ref}: {where}", markup=False, style="dim")
    if status is not None and status.comments:
        out.print("comments since your last push:")
        for c in status.comments:
            out.print(
                f"  @{c.author or 'ghost'} {ago(c.created_at, now)}: {first_line(c.body)}",
                markup=False,
            )
    out.print(i.url, markup=False)
    return 0


def _print_class(b: Blocker, *, with_class: bool = True) -> None:
    """The lines under a failing check: its class and why, what to ask for, Dr. CI's word."""
    if b.kind != "check" or b.klass is None:
        return
    pad = " " * 21
    said = f"{b.klass}: {b.why}" if with_class else str(b.why)
    out.print(Text(pad + said, style="dim" if not b.blocks else ""))
    if b.ask:
        out.print(Text(f"{pad}→ {b.ask}", style="dim"))
    if b.drci:
        out.print(Text(f"{pad}Dr.CI: {b.drci}", style="dim"))
