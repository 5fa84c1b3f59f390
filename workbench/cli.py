"""The ``workbench`` command: a thin layer over the library.

Every failure ends in one line on stderr saying what went wrong and what to do, and the exit code
of the design contract (0 ok, 1 a problem found, 2 bad input or environment).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import NoReturn

from rich.table import Table

from workbench import __version__
from workbench.bench.cli import register as register_bench
from workbench.config import known_upstreams, load_recipe
from workbench.console import err, out, print_json
from workbench.draft.cli import register as register_pr
from workbench.errors import WorkbenchError
from workbench.github.cli import register as register_github
from workbench.paths import Workspace
from workbench.runners.cli import register as register_remote
from workbench.testsel.cli import register as register_tests


def _engine(args: argparse.Namespace):
    from workbench.gitops.engine import SeriesEngine

    ws = Workspace.discover()
    return SeriesEngine(ws, load_recipe(ws, args.name))


# --- upstream ------------------------------------------------------------------------------------


def cmd_upstream_list(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    recipes = [load_recipe(ws, n) for n in known_upstreams(ws)]
    if args.json:
        print_json(
            [
                {
                    "name": r.name,
                    "repo": r.upstream.repo,
                    "url": r.upstream.url,
                    "url_source": r.url_source,
                    "pin": r.upstream.pin,
                    "pin_source": r.pin_source,
                    "default_branch": r.upstream.default_branch,
                    "fetched": ws.src(r.name).exists(),
                }
                for r in recipes
            ]
        )
        return 0
    table = Table("name", "repo", "pin", "branch", "fetched", box=None)
    for r in recipes:
        pin = r.upstream.pin + ("" if r.pin_source == "recipe" else f" ({r.pin_source})")
        table.add_row(
            r.name,
            r.upstream.repo,
            pin,
            r.upstream.default_branch,
            "yes" if ws.src(r.name).exists() else "no",
        )
    out.print(table)
    return 0


def cmd_upstream_fetch(args: argparse.Namespace) -> int:
    engine = _engine(args)
    co = engine.co
    report = co.fetch()
    series = engine.series()
    pin = engine.pin(series)
    pin_sha = co.resolve_or_fetch(pin.ref, "pin")
    base_moved = co.ensure_base(pin_sha)
    result: dict = {
        "upstream": engine.name,
        "cloned": report.cloned,
        "url": report.url,
        "default_head": report.default_head,
        "pin": {"ref": pin.ref, "source": pin.source, "commit": pin_sha},
        "base": {"path": engine.ws.relative(co.base), "moved": base_moved},
    }
    if co.head(co.patched) is None:
        applied = engine.apply()
        result["patched"] = {
            "path": engine.ws.relative(co.patched),
            "created": True,
            "patches": applied.applied,
            "head": applied.head,
        }
    else:
        wt = engine.status(check_head=False)["worktree"]
        result["patched"] = {
            "path": wt["path"],
            "created": False,
            "state": wt["state"],
            "hint": wt.get("hint"),
        }
    if args.json:
        print_json(result)
        return 0
    verb = "cloned" if report.cloned else "fetched"
    out.print(f"{verb} {engine.name} from {report.url}")
    out.print(f"pin {pin.ref} = {pin_sha[:12]} (from {pin.source})")
    out.print(f"base    {result['base']['path']} at the pin")
    p = result["patched"]
    if p["created"]:
        out.print(f"patched {p['path']}: pin + {p['patches']} patch(es)")
    else:
        line = f"patched {p['path']}: {p['state']}"
        out.print(line + (f" (next: {p['hint']})" if p.get("hint") else ""))
    return 0


# --- patches -------------------------------------------------------------------------------------


def _conflict_report(exc: WorkbenchError) -> None:
    conflict = getattr(exc, "conflict", None)
    if conflict is None:
        return
    err.print(f"[bold]{conflict.patch}[/] ({conflict.index} of {conflict.total}) does not apply:")
    for f, hunks in conflict.files.items():
        err.print(f"  {f}" + (f": {', '.join(hunks)}" if hunks else ""))


def cmd_patches_apply(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.abort:
        engine.abort()
        out.print(f"aborted; {engine.ws.relative(engine.co.patched)} is back where it was")
        return 0
    if args.cont:
        kind = engine.continue_()
        if kind == "rebase":
            out.print(
                f"rebase finished; {engine.ws.relative(engine.dir)}/ now records the new base"
            )
        else:
            out.print(
                "series applied with your resolution; save it into "
                f"{engine.ws.relative(engine.dir)}/ with: workbench patches refresh {engine.name}"
            )
        return 0
    result = engine.apply(force=args.force)
    out.print(
        f"applied {result.applied} patch(es) onto {result.pin.ref} ({result.base[:12]}) in "
        f"{engine.ws.relative(engine.co.patched)}"
    )
    return 0


def cmd_patches_rebase(args: argparse.Namespace) -> int:
    if args.abort or args.cont:
        return cmd_patches_apply(args)
    if not args.onto:
        raise WorkbenchError(
            "rebase needs --onto REF (or --continue / --abort)",
            "e.g. workbench patches rebase ao --onto origin/main",
        )
    engine = _engine(args)
    result = engine.rebase(args.onto, force=args.force)
    out.print(
        f"rebased {result.applied} patch(es) onto {args.onto} ({result.base[:12]}); "
        f"{engine.ws.relative(engine.dir)}/series records the new base"
    )
    return 0


def cmd_patches_refresh(args: argparse.Namespace) -> int:
    engine = _engine(args)
    result = engine.refresh(force=args.force)
    if args.json:
        print_json(
            {**asdict(result), "kept_old": str(result.kept_old) if result.kept_old else None}
        )
        return 0
    rel = engine.ws.relative(engine.dir)
    if not result.changed:
        out.print(f"{rel}/ is up to date ({len(result.entries)} patch(es))")
        return 0
    out.print(f"wrote {len(result.entries)} patch(es) to {rel}/")
    for label, names in (
        ("new", result.added),
        ("rewritten", result.rewritten),
        ("dropped", result.removed),
    ):
        for n in names:
            out.print(f"  {label:9} {n}")
    if result.kept_old:
        out.print(f"previous files kept in {engine.ws.relative(result.kept_old)}")
    return 0


def cmd_patches_status(args: argparse.Namespace) -> int:
    engine = _engine(args)
    st = engine.status(check_head=not args.no_check)
    if args.json:
        print_json({"schema": 1, **st})
        return 0
    pin = st["pin"]
    out.print(f"[bold]{st['upstream']}[/] {st['repo']}  ({st['url']})")
    out.print(
        f"pin       {pin['ref']} = {(pin['commit'] or 'not fetched')[:12]}  from {pin['source']}"
    )
    up = st["upstream_head"]
    if up.get("head"):
        since = up.get("commits_since_pin")
        out.print(
            f"upstream  {up['branch']} = {up['head'][:12]} ({up.get('date', '')})"
            + (f", {since} commit(s) since the pin" if since is not None else "")
        )
    wt = st["worktree"]
    out.print(
        f"worktree  {wt['path']}: {wt['state']}" + (f"  → {wt['hint']}" if wt.get("hint") else "")
    )
    if wt.get("uncommitted"):
        out.print(f"          uncommitted: {', '.join(wt['uncommitted'][:8])}")
    if not st["patches"]:
        out.print("series    empty")
    for p in st["patches"]:
        out.print(f"  {p['file']}  [green]+{p['added']}[/] [red]-{p['deleted']}[/]  {p['subject']}")
        for f in p["files"]:
            name = f"{f['renamed_from']} → {f['path']}" if f["renamed_from"] else f["path"]
            out.print(f"      {name}")
    a = st["applies_to_head"]
    if a is not None:
        if a["clean"]:
            verdict = "[green]applies cleanly[/]"
        elif a["ok"]:
            verdict = f"[yellow]applies with a 3-way merge[/] ({', '.join(a['three_way'])})"
        else:
            verdict = (
                f"[red]conflicts[/] at {a['failed']} ({', '.join(a['conflicts']) or 'see apply'})"
            )
        out.print(f"onto {up['branch']}: {verdict}")
    out.print(f"changed files: {len(st['changed_files'])}")
    return 0


def cmd_patches_range_diff(args: argparse.Namespace) -> int:
    engine = _engine(args)
    text = engine.range_diff(args.rev, color=sys.stdout.isatty())
    sys.stdout.write(text if text.strip() else "no patches on either side\n")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from workbench.doctor import run_checks

    checks = run_checks()
    if args.json:
        print_json([asdict(c) for c in checks])
    else:
        for c in checks:
            color = {"ok": "green", "warn": "yellow", "fail": "red"}[c.level]
            out.print(f"[{color}]{c.level:>4}[/]  {c.name}: ", end="")
            out.print(c.detail, markup=False)
    return 1 if any(c.level == "fail" for c in checks) else 0


def cmd_overview(args: argparse.Namespace) -> int:
    out.print(
        f"workbench {__version__}: track upstream, keep a patch series, build, test, propose."
    )
    try:
        cmd_upstream_list(argparse.Namespace(json=False))
    except WorkbenchError as exc:
        err.print(exc.one_line())
    out.print("\nworkbench --help lists the commands; start with: workbench upstream fetch NAME")
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from workbench.tui.app import make_app  # Textual loads only on this path

    make_app(Workspace.discover()).run()
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    """The TUI on a terminal; the overview when piped or scripted."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return cmd_tui(args)
    return cmd_overview(args)


# --- parser --------------------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors in one line, with where to look, instead of usage and error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="workbench",
        description="A contributor's workbench for pytorch/ao, triton-lang/triton and pytorch/xla.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.set_defaults(func=cmd_default)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(parent, name: str, func: Callable, help: str, **kw) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help, **kw)
        p.set_defaults(func=func)
        return p

    def name_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", metavar="NAME", help="upstream name (a folder of upstreams/)")

    up = sub.add_parser(
        "upstream",
        help="the upstream clones and worktrees",
        description="the upstream clones and worktrees",
    )
    up_sub = up.add_subparsers(title="commands", metavar="COMMAND", required=True)
    p = command(up_sub, "list", cmd_upstream_list, "list the upstreams with a recipe")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(
        up_sub,
        "fetch",
        cmd_upstream_fetch,
        "clone or fetch NAME into upstreams/NAME/src and keep the base and patched worktrees",
    )
    name_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    pa = sub.add_parser(
        "patches",
        help="the patch series in patches/NAME",
        description="the patch series in patches/NAME (quilt's series format)",
    )
    pa_sub = pa.add_subparsers(title="commands", metavar="COMMAND", required=True)

    p = command(
        pa_sub,
        "status",
        cmd_patches_status,
        "pin, upstream head, each patch, whether the series applies to upstream's head",
    )
    name_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip the trial apply onto the upstream's default branch",
    )

    for verb, func, help_ in (
        (
            "apply",
            cmd_patches_apply,
            "(re)create the patched worktree at the pin and apply the series with git am -3",
        ),
        (
            "rebase",
            cmd_patches_rebase,
            "re-apply the series onto REF and record REF as the series' new base",
        ),
    ):
        p = command(pa_sub, verb, func, help_)
        name_arg(p)
        if verb == "rebase":
            p.add_argument("--onto", metavar="REF", help="tag, branch (e.g. origin/main) or commit")
        group = p.add_mutually_exclusive_group()
        group.add_argument(
            "--continue",
            dest="cont",
            action="store_true",
            help="finish after resolving a conflict and `git add`-ing the files",
        )
        group.add_argument(
            "--abort", action="store_true", help="back out: the worktree returns to where it was"
        )
        p.add_argument(
            "--force",
            action="store_true",
            help="replace commits not saved to patches/ (kept under refs/workbench/backup/)",
        )

    p = command(
        pa_sub,
        "refresh",
        cmd_patches_refresh,
        "write the patched worktree's commits back to patches/NAME (atomically)",
    )
    name_arg(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite patch files changed since the worktree was built (kept in trash)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command(
        pa_sub,
        "range-diff",
        cmd_patches_range_diff,
        "git range-diff between the series at REV of the workbench repo and now",
    )
    name_arg(p)
    p.add_argument(
        "rev",
        nargs="?",
        default="HEAD",
        metavar="REV",
        help="a commit of the workbench repository (default: HEAD)",
    )

    # The way the data goes: upstream → patches → build/tests/bench → tracker.
    register_tests(sub)
    register_bench(sub)
    register_github(sub)
    register_remote(sub)
    register_pr(sub)

    command(sub, "tui", cmd_tui, "the dashboard (what `workbench` opens on a terminal)")

    p = command(sub, "doctor", cmd_doctor, "check git, the recipes and the clones")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # what follows -- goes to the tool underneath (pytest), untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if passthrough and not getattr(args, "accepts_passthrough", False):
        parser.error("arguments after -- are only taken by `workbench tests run`")
    args.passthrough = passthrough
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        _conflict_report(exc)
        err.print(f"workbench: {exc.one_line()}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("workbench: interrupted")
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        err.print(
            f"workbench: unexpected {type(exc).__name__}: {exc} "
            "(run again with WORKBENCH_DEBUG=1 for the traceback)",
            markup=False,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
