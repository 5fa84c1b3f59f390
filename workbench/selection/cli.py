"""``workbench tests select|run|map``: which tests matter for the series, and running them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.markup import escape

from workbench.commands import JSON_HELP, command, group
from workbench.console import err, out, print_json
from workbench.errors import ProblemFound

if TYPE_CHECKING:
    from workbench.config import Recipe
    from workbench.paths import Workspace
    from workbench.vocabulary import Log


def _context(args: argparse.Namespace) -> tuple[Workspace, Recipe]:
    from workbench.config import load_recipe
    from workbench.paths import Workspace

    ws = Workspace.discover()
    return ws, load_recipe(ws, args.name)


def _log(args: argparse.Namespace) -> Log | None:
    return None if getattr(args, "json", False) else (lambda msg: err.print(escape(msg)))


def register(sub: argparse._SubParsersAction) -> None:
    tsub = group(sub, "tests", "select and run the upstream tests that matter for the series")
    command(
        tsub,
        "select",
        "the test files for the series' changed files, and why",
        cmd_select,
        upstream=True,
        json=JSON_HELP,
    )
    r = command(
        tsub,
        "run",
        "run the selection on patched; failures again on baseline",
        cmd_run,
        description="run the selection on the patched side, re-run failures on "
        "the baseline, and exit 1 on regressions only; arguments after -- "
        "replace the selection",
        upstream=True,
        json="print tests.json",
        passthrough=True,
    )
    r.add_argument(
        "--per-patch",
        nargs="?",
        const="auto",
        choices=("auto", "linear", "bisect"),
        metavar="linear|bisect",
        help="then say which patch of the series introduced each regression (and which made a "
        "failing test pass): the pin plus the first k patches is built and run for each patch "
        "that touches code a selected test runs; linear runs them all, bisect searches only "
        "the final regressions (default: linear up to 3 such steps in between, else bisect)",
    )
    m = command(
        tsub,
        "map",
        "run the tests once on the baseline and keep which code each test runs",
        cmd_map,
        description="run the upstream's tests on the baseline side (the pin) with a tracer and "
        "keep, per test, the functions it runs; later selections pick the tests that run a "
        "function the series changes. Resumable: a map cut off keeps every finished test file. "
        "Paths after -- limit it to some test files or folders",
        upstream=True,
        json="print the map's summary",
        passthrough=True,
    )
    m.add_argument(
        "--refresh",
        action="store_true",
        help="start from the map of an earlier pin: run again only the test files that changed "
        "or ran code that changed since",
    )


def cmd_select(args: argparse.Namespace) -> int:
    from workbench.envs.builder import EnvBuilder
    from workbench.selection.mapping import selection as select

    ws, recipe = _context(args)
    builder = EnvBuilder(ws, recipe, log=_log(args))
    builder.worktrees()  # cloned on first use, as for build and tests run
    changed = builder.changed_files()
    selection = select(ws, builder, changed)
    if args.json:
        print_json(
            {
                "upstream": recipe.name,
                "changed_files": changed,
                "tests": [{"path": t.path, "reasons": t.reasons} for t in selection.tests],
                "unmapped": selection.unmapped,
                "map": selection.map,
                "not_exercised": selection.not_exercised,
                "map_note": selection.note,
            }
        )
        return 0
    what = "test(s)" if selection.map else "test file(s)"
    out.print(f"{len(changed)} changed file(s), {len(selection.tests)} {what} selected")
    for t in selection.tests:
        out.print(f"  {escape(t.path)}")
        for reason in t.reasons:
            out.print(f"      {escape(reason)}", style="dim")
    _print_map(recipe.name, selection.map, selection.not_exercised, selection.note)
    for f in selection.unmapped:
        out.print(f"[yellow]no test found for[/] {escape(f)}")
    return 0


def _print_map(name: str, used: dict | None, not_exercised: list[dict], note: str | None) -> None:
    if used:
        out.print(
            f"by the test map of {str(used['commit'])[:12]} on {used['device']} "
            f"({used['tests']} tests{'' if used['complete'] else ', partial'})",
            style="dim",
        )
    if note:
        out.print(f"[yellow]{escape(note)}[/]")
    for x in not_exercised:
        out.print(
            f"[yellow]not exercised on {x['device']}[/] {escape(x['file'])}::{escape(x['block'])} "
            f"({x['how']}): no mapped test runs it; run `workbench remote run {name} "
            "--session tests` on a GPU runner"
        )
        for device, tests in (x.get("elsewhere") or {}).items():
            shown = ", ".join(escape(t) for t in tests[:3])
            more = f" and {len(tests) - 3} more" if len(tests) > 3 else ""
            out.print(f"      on {device} (its map): {shown}{more}", style="dim")


def cmd_map(args: argparse.Namespace) -> int:
    from workbench.selection.mapping import make_map

    ws, recipe = _context(args)
    summary = make_map(
        ws,
        recipe,
        args.passthrough or None,
        log=_log(args) or (lambda m: None),
        refresh=args.refresh,
    )
    if args.json:
        print_json(summary)
        return 0
    out.print(
        f"[bold]{recipe.name}[/] test map of {str(summary['commit'])[:12]} on {summary['device']}: "
        f"{summary['tests']} tests in {summary['test_files']} file(s), {summary['blocks']} "
        f"blocks, {summary['size_bytes'] / 1e6:.1f} MB, {summary['seconds_total']} s"
        + ("" if summary["complete"] else " (partial: run it again to go on)")
    )
    for f, errors in summary["collection_errors"].items():
        out.print(f"  [yellow]could not collect[/] {escape(f)}: {escape(errors[0])}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from workbench.selection.check import run_tests

    ws, recipe = _context(args)
    doc, folder = run_tests(
        ws,
        recipe,
        pytest_args=args.passthrough or None,
        log=_log(args),
        per_patch=args.per_patch,
    )
    if args.json:
        print_json(doc)
    else:
        _print(doc, ws.relative(folder))
    if doc["regressions"]:
        ids = ", ".join(r["id"] for r in doc["regressions"][:3])
        raise ProblemFound(
            f"{len(doc['regressions'])} regression(s): {ids}",
            f"details in {ws.relative(folder)}/tests.json",
        )
    return 0


def _print(doc: dict, folder: str) -> None:
    if doc.get("note"):
        out.print(doc["note"])
        _print_per_patch(doc)
        return
    c = doc["counts"]
    out.print(
        f"[bold]{doc['upstream']}[/] on {doc['device']}: {c['passed']} passed, "
        f"{c['failed']} failed, {c['error']} errors, {c['skipped']} skipped "
        f"({len(doc['selection'])} selected {'test(s)' if doc.get('map') else 'file(s)'}, "
        f"{doc['seconds']} s)"
    )
    for reason, n in doc["skipped_by_reason"].items():
        out.print(f"  skipped: {escape(reason)}: {n}")
    for r in doc["regressions"]:
        out.print(f"[red]regression[/] {escape(r['id'])} (baseline: {r['on_baseline']})")
    for r in doc["preexisting"]:
        out.print(f"[yellow]already failing[/] {escape(r['id'])}")
    _print_map(doc["upstream"], doc.get("map"), doc.get("not_exercised") or [], doc.get("map_note"))
    if doc.get("device_note"):
        out.print(escape(doc["device_note"]), style="dim")
    _print_per_patch(doc)
    out.print(f"results in {folder}")


INLINE_IDS = 3
"""A patch's node ids named on its own line up to this many; more go one per line below it."""


def _counted(ids: list[str], one: str, many: str) -> str:
    said = f"{len(ids)} {one if len(ids) == 1 else many}"
    return f"{said}: {', '.join(ids)}" if len(ids) <= INLINE_IDS else said


def _print_per_patch(doc: dict) -> None:
    """One line a patch (what it broke and fixed, no change, or why it was skipped), then what
    the attribution cost."""
    if "per_patch" not in doc:
        return
    if not doc["per_patch"]:
        out.print("the series has no patch yet")
    for p in doc["per_patch"]:
        if p["skipped"]:
            said = f"skipped: {p['skipped']}"
        else:
            parts = []
            if p["regressions"]:
                parts.append(_counted(p["regressions"], "regression", "regressions"))
            if p["fixed"]:
                parts.append(_counted(p["fixed"], "fixed", "fixed"))
            said = "; ".join(parts) or "no change"
        out.print(f"{escape(p['patch'])}: {escape(said)}")
        for kind in ("regressions", "fixed"):
            if not p["skipped"] and len(p[kind]) > INLINE_IDS:
                for node in p[kind]:
                    out.print(f"    {kind[:-1] if kind == 'regressions' else kind}: {escape(node)}")
    from workbench.steps.cost import COST_RUNS, cost_words

    cost = cost_words(doc["per_patch_cost"], COST_RUNS["tests"])
    out.print(f"per patch: {escape(cost)}", style="dim")
