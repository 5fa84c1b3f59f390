"""``workbench pr start|draft|open``."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from rich.markup import escape

from workbench.commands import JSON_HELP, command, group
from workbench.console import confirm, err, out, print_json
from workbench.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    psub = group(
        sub,
        "pr",
        "draft the PR description; open it as a draft PR from your fork",
        description="draft the PR description in the upstream's format from real results, "
        "and open it as a draft PR from your fork",
    )

    s = command(
        psub,
        "start",
        "start work on an issue: the next patch is named after it, the draft fixes it",
        cmd_start,
        description="record ISSUE as the issue the series of NAME works on: the next patch's "
        "subject is named after it and the draft says 'Fixes #ISSUE'",
        upstream=True,
        json=JSON_HELP,
    )
    s.add_argument("issue", metavar="ISSUE", type=int, nargs="?")
    s.add_argument("--stop", action="store_true", help="forget the issue work was started on")

    d = command(
        psub,
        "draft",
        "the PR title, body and labels, with warnings above",
        cmd_draft,
        description="render the PR for the series of NAME in the upstream's own format, from "
        "the series, the latest test and bench runs for it, and the linked issue; warnings "
        "(no tests run, stale results, regressions, missing labels, empty human parts) first",
        upstream=True,
        json="print the draft as JSON",
    )
    d.add_argument("--issue", type=int, metavar="N", help="the issue the PR fixes")
    d.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the title and body to FILE; what you wrote in its human parts is kept",
    )

    o = command(
        psub,
        "open",
        "push the series to your fork and open it as a DRAFT PR (asks first)",
        cmd_open,
        description="push the patched worktree's commits to a branch of your fork and open a "
        "draft PR against the upstream with the drafted body and suggested labels (set only "
        "where your token may; listed otherwise). A branch with an open PR gets the next "
        "version of the series (v2, v3, ...): pushed with a lease, the body drafted again with "
        "what you wrote kept, and a 'v2: changes since v1' comment with the range-diff. Shows "
        "what it will do and asks unless --yes.",
        upstream=True,
        json="print what was done as JSON",
    )
    o.add_argument("--fork", required=True, metavar="OWNER/REPO", help="your fork of the upstream")
    o.add_argument("--yes", action="store_true", help="do not ask (push, and post the comment)")
    o.add_argument("--stack", action="store_true", help="one draft PR per patch, linked")
    o.add_argument("--branch", metavar="NAME", help="the fork branch (default: from the title)")
    o.add_argument(
        "--body-file",
        type=Path,
        metavar="FILE",
        help="a draft file you edited (from pr draft -o): its title and body",
    )
    o.add_argument("--issue", type=int, metavar="N", help="the issue the PR fixes")
    o.add_argument("--push-url", metavar="URL", help="push here instead of the fork's clone URL")
    o.add_argument(
        "--force",
        action="store_true",
        help="replace a fork branch that holds other commits (for an open PR: commits someone "
        "else pushed)",
    )
    o.add_argument(
        "--dry-run",
        action="store_true",
        help="show the push, each body (a diff for an open PR) and the version comment; "
        "push, edit and post nothing",
    )
    o.add_argument(
        "--no-comment",
        action="store_true",
        help="for an open PR: do not post the 'v2: changes since v1' comment",
    )


@contextmanager
def maybe_store(ws):
    """The tracker's store if a sync has made one (titles of linked issues), else None."""
    from workbench.github.store import Store, store_path

    if not store_path(ws).exists():
        yield None
        return
    store = Store.open(ws, create=False)
    try:
        yield store
    finally:
        store.close()


def cmd_start(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from workbench.config import load_recipe
    from workbench.paths import Workspace
    from workbench.pr import start_work, stop_work

    ws = Workspace.discover()
    load_recipe(ws, args.name)
    if args.stop:
        stopped = stop_work(ws, args.name)
        err.print("forgot the issue" if stopped else "no issue was recorded")
        return 0
    if args.issue is None:
        raise UsageError("pr start needs ISSUE (or --stop)", f"workbench pr start {args.name} 123")
    with maybe_store(ws) as store:
        item = start_work(ws, args.name, args.issue, store=store)
    if args.json:
        print_json(asdict(item))
        return 0
    out.print(f"working on #{item.number}" + (f": {escape(item.title)}" if item.title else ""))
    out.print(f"next patch: {item.patch_file}")
    out.print(
        f"commit in upstreams/{args.name}/patched with the subject:\n  {escape(item.subject)}\n"
        f"then: workbench patches refresh {args.name}; the draft will say 'Fixes #{item.number}'"
    )
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    from workbench.fsutil import atomic_write_bytes
    from workbench.paths import Workspace
    from workbench.pr import make_draft
    from workbench.pr.model import GITHUB_BODY_LIMIT

    ws = Workspace.discover()
    previous = None
    if args.output and args.output.exists():
        if not args.output.is_file():
            raise UsageError(f"{args.output} is not a file", "give a file path to -o")
        previous = args.output.read_text(errors="replace")
    with maybe_store(ws) as store:
        draft = make_draft(ws, args.name, issue=args.issue, store=store, keep_from=previous)
    if args.output:
        atomic_write_bytes(args.output, draft.file_text().encode())
    if args.json:
        doc = draft.to_json()
        if args.output:
            doc["written_to"] = str(args.output)
        print_json(doc)
        return 0
    # Warnings go to stderr either way: stdout is the draft alone, ready to pipe or redirect.
    for w in draft.warnings:
        err.print(f"[yellow]warning[/] {escape(w.message)}")
    size = f"{len(draft.body):,} of GitHub's {GITHUB_BODY_LIMIT:,} characters"
    if args.output:
        if draft.kept:
            err.print(f"kept your {', '.join(draft.kept)} from {args.output}")
        err.print(
            f"draft written to {args.output} (body: {size}); labels: "
            f"{', '.join(draft.labels) or 'none'}"
        )
        return 0
    err.print(f"body: {size}; labels: {', '.join(draft.labels) or 'none'}")
    sys.stdout.write(draft.file_text())
    return 0


def _confirm(question: str) -> bool:
    return confirm(
        question,
        refusal="pr open asks before it pushes, and there is no terminal to ask on",
        hint="run it in a terminal, or pass --yes",
    )


def cmd_open(args: argparse.Namespace) -> int:
    from workbench.github.client import GitHubClient
    from workbench.paths import Workspace
    from workbench.pr.publish import open_prs, plan_open, post_comment, push

    ws = Workspace.discover()
    comment = not args.no_comment
    with GitHubClient.from_env() as client, maybe_store(ws) as store:
        plan = plan_open(
            ws,
            args.name,
            client,
            fork=args.fork,
            stack=args.stack,
            branch=args.branch,
            body_file=args.body_file,
            push_url=args.push_url,
            issue=args.issue,
            store=store,
            force=args.force,
        )
        if plan.up_to_date:
            numbers = ", ".join(f"#{pr.number}" for pr in plan.prs)
            which = f"PR {numbers} is" if len(plan.prs) == 1 else f"PRs {numbers} are"
            if args.json:
                print_json(plan.to_json())
            else:
                out.print(
                    f"{which} already at this version (v{plan.version}): nothing was pushed, "
                    "edited or posted"
                )
            return 0
        err.print(escape(plan.describe(comment=comment)))
        if args.dry_run:
            if args.json:
                print_json({**plan.to_json(), "dry_run": True})
            else:
                sys.stdout.write(plan.preview(comment=comment))
            err.print("dry run: nothing was pushed, edited or posted")
            return 0
        if not args.yes and not _confirm("go ahead?"):
            err.print("nothing was pushed or opened")
            return 0
        push(ws, args.name, plan, client)
        open_prs(plan, client, log=lambda msg: err.print(escape(msg)))
        if plan.comment and comment:
            top = plan.prs[-1]
            if args.yes or _confirm(f'post the comment "{plan.comment_title}" on #{top.number}?'):
                post_comment(plan, client)
                err.print(f"posted {escape(plan.comment_url or plan.comment_title or '')}")
            else:
                err.print("the comment was not posted")
    if args.json:
        print_json(plan.to_json())
    else:
        for pr in plan.prs:
            out.print(f"{pr.url}  {escape(pr.title)}")
        if plan.prs and plan.prs[-1].labels and not plan.can_label:
            out.print("labels to ask for: " + ", ".join(plan.prs[-1].labels))
    return 0
