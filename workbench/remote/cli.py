"""``workbench remote run|fetch|status``: the nox sessions on GitHub Actions runners."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from workbench.commands import JSON_HELP, command, group, non_negative
from workbench.config import load_recipe
from workbench.console import err, out, print_json
from workbench.errors import UsageError
from workbench.paths import Workspace
from workbench.remote import records
from workbench.remote.records import RemoteRun
from workbench.remote.settings import (
    Timing,
    check_labels,
    check_repo,
    read_remote_config,
)
from workbench.remote.workflow import SESSIONS, default_labels

if TYPE_CHECKING:
    from workbench.remote.actions import Actions, Run
    from workbench.remote.follow import Observer

# The GitHub client (PyGithub, requests) is imported inside the commands that talk to GitHub:
# every `workbench` command registers these parsers, and that import alone costs ~0.35 s.


RECORD_JSON = "print the run's record as JSON"
_seconds = non_negative(float, "seconds")


def register(sub: argparse._SubParsersAction) -> None:
    rsub = group(
        sub,
        "remote",
        "run the nox sessions on GitHub Actions runners (GPU, TPU) and bring results home",
        description="run the nox sessions on GitHub Actions runners of your fork (GPU, TPU) "
        "and bring the results home into .workbench/runs/",
    )

    def timing_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--poll",
            type=_seconds,
            metavar="SECONDS",
            help="seconds between looks at the run (default 15; env WORKBENCH_REMOTE_POLL)",
        )
        p.add_argument(
            "--queue-timeout",
            type=_seconds,
            metavar="SECONDS",
            help="cancel the run if no runner takes it within this (default 900; "
            "env WORKBENCH_REMOTE_QUEUE_TIMEOUT)",
        )

    p = command(
        rsub,
        "run",
        "dispatch nox -s NAME_SESSION on your fork's runners",
        cmd_run,
        description="check that the pushed branch holds the series of your worktree, dispatch "
        "nox -s NAME_SESSION on your fork's runners, and with --wait follow it and bring the "
        "results home. Commits and pushes nothing.",
        upstream=True,
        json=RECORD_JSON,
    )
    p.add_argument("--session", choices=SESSIONS, required=True, help="which nox session")
    p.add_argument(
        "--repo", metavar="OWNER/NAME", help="your fork ([remote] repo in workbench.toml)"
    )
    p.add_argument("--ref", metavar="BRANCH", help="branch to run (default: the current branch)")
    p.add_argument(
        "--runner-labels",
        nargs="+",
        metavar="LABEL",
        help="runner labels (default: self-hosted linux gpu; tpu for xla)",
    )
    p.add_argument("--wait", action="store_true", help="follow the run and bring the results home")
    timing_flags(p)

    p = command(
        rsub,
        "fetch",
        "follow a dispatched run to its end and bring its results home",
        cmd_fetch,
        description="follow a dispatched run to its end and unpack its artifact into "
        ".workbench/runs/NAME/RUN_ID/ (an existing folder is never replaced)",
        json=RECORD_JSON,
    )
    p.add_argument("run_id", metavar="RUN_ID", help="the GitHub run id (see `remote status`)")
    timing_flags(p)

    p = command(
        rsub,
        "status",
        "the dispatched runs and their states",
        cmd_status,
        description="the dispatched runs and their states (unfinished ones are looked up)",
        json=JSON_HELP,
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="only this upstream's runs")
    p.add_argument("--offline", action="store_true", help="show what was recorded, ask nothing")


def _timing(args: argparse.Namespace) -> Timing:
    return Timing.from_env(poll=args.poll, queue_timeout=args.queue_timeout)


@contextmanager
def _progress(rec: RemoteRun, quiet: bool) -> Iterator[Observer]:
    """A spinner line on stderr: which run, its state, how long it has been followed."""
    what = f"{rec.upstream} {rec.session} run {rec.run_id} on [{', '.join(rec.runner_labels)}]"
    if quiet:
        yield lambda run, elapsed: None
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task(escape(f"{what}: dispatched"))

        def observe(run: Run, elapsed: float) -> None:
            state = run.conclusion if run.done else run.status.replace("_", " ")
            progress.update(task, description=escape(f"{what}: {state}"))

        yield observe


def _follow_and_finish(
    actions: Actions, ws: Workspace, rec: RemoteRun, args: argparse.Namespace
) -> int:
    from workbench.remote.follow import finish, follow

    timing = _timing(args)
    try:
        with _progress(rec, args.json) as observe:
            run = follow(actions, ws, rec, timing, observe=observe)
    except KeyboardInterrupt:
        err.print(
            f"stopped following; run {rec.run_id} goes on: "
            f"`workbench remote fetch {rec.run_id}` brings it home later",
            markup=False,
        )
        raise
    try:
        finish(actions, ws, rec, run)
    finally:
        if args.json:
            print_json(asdict(rec))
    if not args.json:
        out.print(f"{rec.upstream} {rec.session} on {rec.device}: {rec.folder}", markup=False)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here: GitPython fails to import without git, and `workbench sync` must not care.
    from workbench.github.client import GitHubClient
    from workbench.gitops.engine import SeriesEngine
    from workbench.remote.actions import Actions
    from workbench.remote.dispatch import dispatch, require_token
    from workbench.remote.guard import current_branch

    ws = Workspace.discover()
    recipe = load_recipe(ws, args.name)
    config = read_remote_config(ws.local_config)
    repo = check_repo(args.repo or config.repo)
    labels = check_labels(
        args.runner_labels or config.runner_labels or default_labels(recipe.build_devices)
    )
    with GitHubClient.from_env() as client:
        actions = Actions(client, repo)
        require_token(actions)
        branch = args.ref or current_branch(ws.root)
        engine = SeriesEngine(ws, recipe)
        if not args.json:
            err.print(
                f"dispatching {recipe.name} {args.session} on {repo} {branch} …", markup=False
            )
        rec = dispatch(
            engine,
            actions,
            session=args.session,
            branch=branch,
            labels=labels,
            timing=_timing(args),
        )
        if not args.json:
            err.print(f"run {rec.run_id}: {rec.html_url}", markup=False)
        if args.wait:
            return _follow_and_finish(actions, ws, rec, args)
    if args.json:
        print_json(asdict(rec))
    else:
        out.print(
            f"dispatched run {rec.run_id}; bring it home with: workbench remote fetch {rec.run_id}",
            markup=False,
        )
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from workbench.github.client import GitHubClient
    from workbench.remote.actions import Actions

    ws = Workspace.discover()
    rec = records.find(ws, args.run_id)
    if rec.run_id is None:
        raise UsageError(
            f"dispatch {rec.dispatch_id} never got a run id from GitHub",
            f"look for [{rec.dispatch_id}] in {rec.repo}'s Actions tab",
        )
    with GitHubClient.from_env() as client:
        return _follow_and_finish(Actions(client, rec.repo), ws, rec, args)


def cmd_status(args: argparse.Namespace) -> int:
    from workbench.github.client import GitHubClient
    from workbench.remote.actions import Actions

    ws = Workspace.discover()
    if args.name:
        load_recipe(ws, args.name)  # a misspelt name is an error, not "no runs"
    runs = [r for r in records.load(ws) if not args.name or r.upstream == args.name]
    pending = [r for r in runs if r.run_id is not None and r.status != "completed"]
    if pending and not args.offline:
        with GitHubClient.from_env() as client:
            for rec in pending:
                run = Actions(client, rec.repo).run(rec.run_id)  # type: ignore[arg-type]
                rec.status, rec.conclusion, rec.html_url = run.status, run.conclusion, run.html_url
                records.save(ws, rec)
    if args.json:
        print_json([{**asdict(r), "state": r.state} for r in runs])
        return 0
    if not runs:
        out.print("no remote runs yet: workbench remote run NAME --session bench --wait")
        return 0
    table = Table("run", "upstream", "session", "labels", "state", "results", box=None)
    for r in runs:
        state = r.state + (f" ({r.problem})" if r.problem else "")
        table.add_row(
            str(r.run_id or f"({r.dispatch_id})"),
            r.upstream,
            r.session,
            ",".join(r.runner_labels),
            state,
            r.folder or "-",
        )
    out.print(table)
    return 0
