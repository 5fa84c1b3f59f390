"""``workbench upstream list|fetch`` and ``workbench patches status|apply|rebase|refresh|range-diff``.

GitPython loads only when a command runs (the engine is imported inside the commands), so
registering these parsers costs every other command nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from workbench import display
from workbench.commands import JSON_HELP, command, group
from workbench.config import known_upstreams, load_recipe
from workbench.console import out, print_json
from workbench.errors import WorkbenchError
from workbench.paths import Workspace
from workbench.vocabulary import PATCHED

if TYPE_CHECKING:
    from workbench.gitops.engine import SeriesEngine


def _engine(args: argparse.Namespace) -> SeriesEngine:
    from workbench.gitops.engine import SeriesEngine

    ws = Workspace.discover()
    return SeriesEngine(ws, load_recipe(ws, args.name))


def report_conflict(exc: WorkbenchError) -> None:
    """The patch and the files a stopped apply or rebase conflicts in, on stdout: what to
    resolve is the command's result; stderr keeps its one line."""
    conflict = getattr(exc, "conflict", None)
    if conflict is None:
        return
    out.print(f"[bold]{conflict.patch}[/] ({conflict.index} of {conflict.total}) does not apply:")
    for f, hunks in conflict.files.items():
        out.print(f"  {f}" + (f": {', '.join(hunks)}" if hunks else ""), markup=False)


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
    result: dict[str, Any] = {
        "upstream": engine.name,
        "cloned": report.cloned,
        "url": report.url,
        "default_head": report.default_head,
        "pin": {"ref": pin.ref, "source": pin.source, "commit": pin_sha},
        "base": {"path": engine.ws.relative(co.base), "moved": base_moved},
    }
    sentence = ""
    if co.head(co.patched) is None:
        applied = engine.apply()
        result[PATCHED] = {
            "path": engine.ws.relative(co.patched),
            "created": True,
            "patches": applied.applied,
            "head": applied.head,
        }
    else:
        wt = engine.report.worktree()
        sentence = display.worktree_sentence(wt.state, wt.stopped)
        result[PATCHED] = {
            "path": wt.path,
            "created": False,
            "state": wt.state.value,
            "stopped": wt.stopped,
            "hint": wt.hint,
        }
    if args.json:
        print_json(result)
        return 0
    verb = "cloned" if report.cloned else "fetched"
    out.print(f"{verb} {engine.name} from {report.url}", markup=False)
    out.print(f"pin {pin.ref} = {pin_sha[:12]} (from {pin.source})", markup=False)
    out.print(f"base    {result['base']['path']} at the pin", markup=False)
    p = result[PATCHED]
    if p["created"]:
        out.print(f"patched {p['path']}: pin + {p['patches']} patch(es)", markup=False)
    else:
        line = f"patched {p['path']}: {sentence}"
        out.print(line + (f" (next: {p['hint']})" if p["hint"] else ""), markup=False)
    return 0


# --- patches -------------------------------------------------------------------------------------


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
    st = engine.report.status(check_head=not args.no_check)
    if args.json:
        print_json(st.to_json())
        return 0
    pin, up, wt = st.pin, st.upstream_head, st.worktree
    out.print(f"[bold]{escape(st.upstream)}[/] {escape(st.repo)}  ({escape(st.url)})")
    out.print(
        f"pin       {pin.ref} = {(pin.commit or 'not fetched')[:12]}  from {pin.source}",
        markup=False,
    )
    if up.head:
        since = up.commits_since_pin
        out.print(
            f"upstream  {up.branch} = {up.head[:12]} ({up.date or ''})"
            + (f", {since} commit(s) since the pin" if since is not None else ""),
            markup=False,
        )
    sentence = display.worktree_sentence(wt.state, wt.stopped)
    out.print(
        f"worktree  {escape(wt.path)}: [{display.WORKTREE_STYLE[wt.state]}]{sentence}[/]"
        + (f"  → {escape(wt.hint)}" if wt.hint else "")
    )
    if wt.uncommitted:
        out.print(f"          uncommitted: {', '.join(wt.uncommitted[:8])}", markup=False)
    if not st.patches:
        out.print("series    empty")
    for p in st.patches:
        out.print(
            f"  {escape(p.file)}  [green]+{p.added}[/] [red]-{p.deleted}[/]  {escape(p.subject)}"
        )
        for f in p.files:
            name = f"{f.renamed_from} → {f.path}" if f.renamed_from else f.path
            out.print(f"      {name}", markup=False)
    if st.applies_to_head is not None:
        style = display.HEAD_STYLE[st.head_outcome]
        verdict = display.head_trial_text(st.applies_to_head, details=True)
        out.print(f"onto {escape(up.branch)}: [{style}]{escape(verdict)}[/]")
    out.print(f"changed files: {len(st.changed_files)}")
    return 0


def cmd_patches_range_diff(args: argparse.Namespace) -> int:
    engine = _engine(args)
    text = engine.report.range_diff(args.rev, color=sys.stdout.isatty())
    sys.stdout.write(text if text.strip() else "no patches on either side\n")
    return 0


# --- parsers -------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    up_sub = group(sub, "upstream", "the upstream clones and worktrees")
    command(up_sub, "list", "list the upstreams with a recipe", cmd_upstream_list, json=JSON_HELP)
    command(
        up_sub,
        "fetch",
        "clone or fetch NAME into upstreams/NAME/src and keep the base and patched worktrees",
        cmd_upstream_fetch,
        upstream=True,
        json=JSON_HELP,
    )

    pa_sub = group(
        sub,
        "patches",
        "the patch series in patches/NAME",
        description="the patch series in patches/NAME (quilt's series format)",
    )
    p = command(
        pa_sub,
        "status",
        "pin, upstream head, each patch, whether the series applies to upstream's head",
        cmd_patches_status,
        upstream=True,
        json=JSON_HELP,
    )
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
        p = command(pa_sub, verb, help_, func, upstream=True)
        if verb == "rebase":
            p.add_argument("--onto", metavar="REF", help="tag, branch (e.g. origin/main) or commit")
        exclusive = p.add_mutually_exclusive_group()
        exclusive.add_argument(
            "--continue",
            dest="cont",
            action="store_true",
            help="finish after resolving a conflict and `git add`-ing the files",
        )
        exclusive.add_argument(
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
        "write the patched worktree's commits back to patches/NAME (atomically)",
        cmd_patches_refresh,
        upstream=True,
        json=JSON_HELP,
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite patch files changed since the worktree was built (kept in trash)",
    )
    # --json stays after --force, where this command's help has always listed it.

    p = command(
        pa_sub,
        "range-diff",
        "git range-diff between the series at REV of the workbench repo and now",
        cmd_patches_range_diff,
        upstream=True,
    )
    p.add_argument(
        "rev",
        nargs="?",
        default="HEAD",
        metavar="REV",
        help="a commit of the workbench repository (default: HEAD)",
    )
