"""``workbench issues`` and ``workbench prs``: the store's items of the upstreams as a table (or
JSON), newest update first, offline; for PRs, CI and review state and, where asked for, what
blocks each. ``workbench prs ao#123`` shows one PR in full (:mod:`.pr_view`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from workbench.config import Recipe, load_recipe, load_recipes
from workbench.console import out, print_json
from workbench.display import CI_STYLE, REVIEW_TEXT, ago, utc_now
from workbench.errors import UsageError
from workbench.github.blocking import Blocker, classes, read_blocking, summary
from workbench.github.cli.pr_view import show_pr
from workbench.github.errors import NotSynced
from workbench.github.store import ItemQuery, Store, TrackedItem
from workbench.paths import Workspace

TABLE_LIMIT = 50
WIDE = 120
"""Terminal columns from which ``prs --mine`` has a column for the failing checks' classes."""


def cmd_issues(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    recipes = recipes_named(ws, args.name)
    newcomer = None
    if args.newcomer:
        newcomer = {r.upstream.repo: r.labels.newcomer for r in recipes}
        if not any(newcomer.values()):
            raise UsageError(
                "no newcomer labels in the recipe(s)",
                "add labels.newcomer to upstreams/NAME/recipe.toml",
            )
    query = ItemQuery(
        repos=tuple(r.upstream.repo for r in recipes),
        pull_requests=False,
        states=_states(args.state),
        labels=tuple(args.label or ()),
        newcomer=newcomer,
        unassigned=args.unassigned,
        search=args.search,
        limit=_limit(args),
    )
    rows, _ = _read(ws, recipes, query)
    return _print_items(rows, recipes, args, prs=False)


def cmd_prs(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    if args.name and ("#" in args.name or args.name.startswith(("http://", "https://"))):
        return show_pr(ws, args.name, args)
    recipes = recipes_named(ws, args.name)
    query = ItemQuery(
        repos=tuple(r.upstream.repo for r in recipes),
        pull_requests=True,
        states=_states(args.state),
        labels=tuple(args.label or ()),
        search=args.search,
        mine=args.mine,
        review_requested=args.review_requested,
        limit=_limit(args),
    )
    rows, blocking = _read(ws, recipes, query, idle_days=args.idle_days)
    if not args.json and not (args.mine or args.review_requested):
        blocking = {}  # the column where it is asked for: a table of every PR needs its titles
    return _print_items(rows, recipes, args, prs=True, blocking=blocking)


def recipes_named(ws: Workspace, name: str | None) -> list[Recipe]:
    """The recipe of upstream ``name``, or every recipe."""
    return [load_recipe(ws, name)] if name else load_recipes(ws)


def _read(
    ws: Workspace,
    recipes: Sequence[Recipe],
    query: ItemQuery,
    *,
    idle_days: int | None = None,
) -> tuple[list[TrackedItem], dict[tuple[str, int], list[Blocker]]]:
    """The items of ``query`` and, with ``idle_days``, what blocks each open PR among them."""
    with Store.open(ws, create=False) as store:
        repos = [r.upstream.repo for r in recipes]
        # A first sync cut short still left what it stored to read.
        if store.last_synced(repos) is None and not any(store.count(r) for r in repos):
            names = " ".join(r.name for r in recipes)
            raise NotSynced(
                f"nothing synced yet for {names}",
                f"run: workbench sync {names if len(recipes) == 1 else ''}".strip(),
            )
        rows = store.query(query)
        if idle_days is None:
            return rows, {}
        by_repo = {r.upstream.repo: r for r in recipes}
        return rows, read_blocking(store, rows, by_repo, utc_now(), idle_days=idle_days).blocking


def _limit(args: argparse.Namespace) -> int | None:
    if args.limit is not None:
        return args.limit or None
    return None if args.json else TABLE_LIMIT


def _print_items(
    rows: list[TrackedItem],
    recipes: Sequence[Recipe],
    args: argparse.Namespace,
    prs: bool,
    blocking: dict[tuple[str, int], list[Blocker]] | None = None,
) -> int:
    """``rows`` as JSON or as a table, one line each; PRs with CI, review and, when given,
    what blocks each."""
    blocking = blocking or {}
    if args.json:
        docs = []
        for r in rows:
            doc = r.to_json()
            if prs:
                found = blocking.get((r.item.repo, r.item.number), [])
                doc["blocking"] = [b.to_json() for b in found]
            docs.append(doc)
        print_json(docs)
        return 0
    if not rows:
        out.print("nothing matches")
        return 0
    names = {r.upstream.repo: r.name for r in recipes}
    now = utc_now()
    # Titles and labels give way to a narrow terminal; each row stays on one line.
    table = Table(box=None, pad_edge=False)
    # The number is what a contributor types next: never squeezed. Titles give way first.
    table.add_column("upstream", no_wrap=True)
    table.add_column("#", no_wrap=True, min_width=len(str(max(r.item.number for r in rows))))
    table.add_column("title", min_width=12)
    mine_only = prs and getattr(args, "mine", False)  # the author is you: no column for it
    if prs:
        for col in ("ci", "review") if mine_only else ("author", "ci", "review"):
            table.add_column(col, no_wrap=True)
        if blocking:
            table.add_column("blocking", max_width=24, no_wrap=True, overflow="ellipsis")
    else:
        table.add_column("labels", max_width=30)
        table.add_column("assignees", no_wrap=True, max_width=16)
    # Whose each failing check is, in a column of its own where the terminal has room for it;
    # in a narrow one the blocking cell counts the others as "not yours".
    with_classes = (
        bool(blocking)
        and out.width >= WIDE
        and any(b.klass for found in (blocking or {}).values() for b in found)
    )
    if with_classes:
        table.add_column("failing checks", max_width=30, no_wrap=True, overflow="ellipsis")
    table.add_column("updated", justify="right", no_wrap=True)
    for t in rows:
        i = t.item
        title = Text(no_wrap=True, overflow="ellipsis")
        if i.draft:  # first, so that cutting a long title keeps it
            title.append("draft ", style="dim")
        title.append(i.title)
        cells: list[Text | str] = [names.get(i.repo, i.repo), str(i.number), title]
        if prs:
            ci = t.ci or ""
            word, style = REVIEW_TEXT.get(t.review or "", ("", "dim"))
            review = Text(word, style=style)
            if t.review_requested:
                review.append((" " if word else "") + "your review", style="bold")
            if not mine_only:
                cells.append(Text(i.author or ""))
            cells += [Text(ci, style=CI_STYLE.get(ci, "dim")), review]
            if blocking:
                found = blocking.get((i.repo, i.number), [])
                said = summary(found)
                cell = Text(said, style="red" if said else "dim")
                others = sum(1 for b in found if not b.blocks)
                if others and not with_classes:
                    cell.append((", " if said else "") + f"{others} not yours", style="dim")
                cells.append(cell)
            if with_classes:
                # The contributor's (new, unclassified) in red, the others dim.
                mine = any(b.kind == "check" and b.blocks for b in found)
                cells.append(Text(classes(found), style="red" if mine else "dim"))
        else:
            cells += [
                Text(", ".join(i.labels), no_wrap=True, overflow="ellipsis"),
                Text(", ".join(i.assignees)),
            ]
        cells.append(ago(i.updated_at, now))
        table.add_row(*cells)
    out.print(table)
    if args.limit is None and len(rows) == TABLE_LIMIT:
        out.print(f"[dim]first {TABLE_LIMIT} shown; --limit 0 shows all[/]")
    return 0


def _states(state: str) -> tuple[str, ...]:
    return () if state == "all" else (state,)
