"""``workbench bench run`` and ``workbench bench show``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from workbench.commands import command, group
from workbench.console import err, print_json
from workbench.console import tables as out
from workbench.errors import ProblemFound, UsageError
from workbench.paths import Workspace, state_home
from workbench.vocabulary import BASELINE, PATCHED

if TYPE_CHECKING:
    from workbench.bench.changes import ChangedCode
    from workbench.bench.per_patch import PerPatch
    from workbench.bench.processes import SideSpec
    from workbench.bench.runner import Settings
    from workbench.envs.builder import EnvBuilder, SideEnv


def register(sub: argparse._SubParsersAction) -> None:
    bsub = group(sub, "bench", "before/after microbenchmarks with a statistical verdict")

    run = command(
        bsub,
        "run",
        "time baseline and patched in interleaved rounds and compare them",
        cmd_run,
        description="time baseline and patched in interleaved rounds and compare them: "
        "NAME uses the environments the nox sessions built; --file with two interpreters or "
        "two import paths works anywhere",
        json="print bench.json to stdout",
    )
    run.add_argument(
        "name", nargs="?", metavar="NAME", help="upstream: runs upstreams/NAME/benches/*.py"
    )
    run.add_argument("--file", type=Path, action="append", help="a bench file (repeatable)")
    run.add_argument("--baseline-python", metavar="PY", help="interpreter of the baseline side")
    run.add_argument("--patched-python", metavar="PY", help="interpreter of the patched side")
    run.add_argument(
        "--baseline-path", metavar="DIR", help="put DIR first on PYTHONPATH for the baseline"
    )
    run.add_argument(
        "--patched-path", metavar="DIR", help="put DIR first on PYTHONPATH for the patched side"
    )
    run.add_argument(
        "--only", metavar="PATTERN", help="cases whose id contains PATTERN (or matches the glob)"
    )
    run.add_argument(
        "--budget",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="measurement time per case, both sides together (default 10)",
    )
    run.add_argument(
        "--max-budget",
        type=float,
        metavar="SECONDS",
        help="how long an undecided case may go on, with more processes (default 3x --budget)",
    )
    run.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="processes per side to start for each bench file (default: from what one costs, "
        "at least 8); an undecided case starts more",
    )
    run.add_argument(
        "--min-effect",
        type=float,
        default=0.02,
        metavar="FRACTION",
        help="smallest change worth a verdict (default 0.02 = 2%%)",
    )
    run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch/OpenMP threads on both sides (default 1; 0 leaves the default)",
    )
    run.add_argument("--no-adaptive", action="store_true", help="always use the whole budget")
    run.add_argument(
        "--allocator",
        choices=("pinned", "default"),
        default="pinned",
        help="glibc malloc in the workers: pinned fixes its mmap/trim thresholds on both sides "
        "(default; fresh processes otherwise land in page-fault regimes up to 3x apart), default "
        "measures as users run, your MALLOC_* passed through",
    )
    run.add_argument(
        "--all",
        dest="all_cases",
        action="store_true",
        help="also time the cases that run none of the series' changed code (shown apart, "
        "never as evidence)",
    )
    run.add_argument(
        "--require-same-outputs",
        action="store_true",
        help="exit 1 if a case's outputs differ between the sides (beyond its tolerance)",
    )
    run.add_argument(
        "--out", type=Path, metavar="DIR", help="run folder (default .workbench/runs/NAME/<run-id>)"
    )
    run.add_argument("--fail-on-slower", action="store_true", help="exit 1 if any case is slower")
    run.add_argument(
        "--per-patch",
        action="store_true",
        help="after the whole series, time each patch against the one before on the cases that "
        "run its code, and say which patch made which change (NAME only)",
    )

    show = command(
        bsub,
        "show",
        "render a bench.json again: table, markdown, PNG or JSON",
        cmd_show,
        json="print the JSON document",
    )
    show.add_argument("file", type=Path, metavar="FILE.json")
    show.add_argument("--markdown", action="store_true", help="print the GitHub-markdown table")
    show.add_argument("--png", type=Path, metavar="OUT.png", help="write the plot")


def _changed_code(builder: EnvBuilder, envs: list[SideEnv]) -> ChangedCode:
    """The series' changed code, and where each side's environment imports it from."""
    from workbench.bench.per_patch import changed_code_between

    by_side = {e.side: e for e in envs}
    return changed_code_between(
        builder, by_side[BASELINE], by_side[PATCHED], builder.changed_files()
    )


def _sides(
    args: argparse.Namespace, ws: Workspace | None, series: dict
) -> tuple[list[Path], SideSpec, SideSpec, ChangedCode | None]:
    """The bench files, the two sides and the series' changed code; ``series`` gets the series
    digest and heads when the sides are the recipe's own environments."""
    from workbench.bench.processes import SideSpec

    if args.name:
        if ws is None:
            raise UsageError(
                "bench run NAME needs a workbench checkout", "cd into it, or use --file"
            )
        from workbench.config import load_recipe
        from workbench.envs.builder import EnvBuilder

        recipe = load_recipe(ws, args.name)
        pythons = {}
        changes = None
        if not (args.baseline_python or args.baseline_path):
            # Both sides built (or found up to date) the way NAME_build does it.
            builder = EnvBuilder(ws, recipe, log=None if args.json else err.print)
            envs = builder.build()
            pythons = {e.side: str(e.python) for e in envs}
            # What the results belong to: the drafter and the TUI call a run stale when the
            # series has changed since.
            series["series_digest"] = builder.engine.series().digest()
            for e in envs:
                series[f"{e.side}_head"] = builder.engine.co.head(e.worktree)
            changes = _changed_code(builder, envs)
        files = args.file or sorted(
            (ws.upstreams_dir / args.name / recipe.bench_folder).glob("*.py")
        )
        if not files:
            raise UsageError(
                f"no bench files in upstreams/{args.name}/{recipe.bench_folder}/",
                "add a .py file with @bench functions",
            )
        env = EnvBuilder(ws, recipe).bench_env()
        base = SideSpec(
            BASELINE,
            args.baseline_python or pythons.get(BASELINE, sys.executable),
            args.baseline_path,
            env,
        )
        patched = SideSpec(
            PATCHED,
            args.patched_python or pythons.get(PATCHED, sys.executable),
            args.patched_path,
            env,
        )
        return files, base, patched, changes
    if not args.file:
        raise UsageError("bench run needs NAME or --file F.py", "e.g. workbench bench run ao")
    by_python = args.baseline_python or args.patched_python
    by_path = args.baseline_path or args.patched_path
    if by_python and by_path:
        raise UsageError(
            "give either --baseline-python/--patched-python or "
            "--baseline-path/--patched-path, not both"
        )
    if by_python and not (args.baseline_python and args.patched_python):
        raise UsageError("--baseline-python and --patched-python go together")
    if by_path and not (args.baseline_path and args.patched_path):
        raise UsageError("--baseline-path and --patched-path go together")
    if not (by_python or by_path):
        raise UsageError(
            "say what to compare",
            "--baseline-python PY --patched-python PY, or --baseline-path DIR --patched-path DIR",
        )
    for d in (args.baseline_path, args.patched_path):
        if d and not Path(d).is_dir():
            raise UsageError(f"no such folder: {d}")
    from workbench.envs.builder import bench_env_of_files

    env = bench_env_of_files(ws, args.file) if ws else {}
    base = SideSpec(BASELINE, args.baseline_python or sys.executable, args.baseline_path, env)
    patched = SideSpec(PATCHED, args.patched_python or sys.executable, args.patched_path, env)
    return args.file, base, patched, None


def run_folder(ws: Workspace | None, name: str | None, out_dir: Path | None) -> Path:
    if out_dir:
        return out_dir
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-bench"
    runs = ws.runs(name or "adhoc") if ws else state_home(Path.cwd()) / "runs" / "adhoc"
    return runs / run_id


def _per_patch(args: argparse.Namespace, ws: Workspace | None, settings: Settings) -> PerPatch:
    """The steps of NAME's series, read before anything is built or timed: unsaved work is
    refused now, not after the whole series has been measured."""
    from workbench.bench.per_patch import PerPatch
    from workbench.config import load_recipe
    from workbench.envs.builder import EnvBuilder

    sides = (args.baseline_python, args.patched_python, args.baseline_path, args.patched_path)
    if not args.name or ws is None or any(sides):
        raise UsageError(
            "--per-patch needs NAME and its own environments: a patch's step is built from "
            "the series",
            "e.g. workbench bench run ao --per-patch",
        )
    log = None if args.json else err.print
    return PerPatch(EnvBuilder(ws, load_recipe(ws, args.name), log=log), settings, log=log)


def _attribute(per_patch: PerPatch, doc: dict, files: list[Path], interactive: bool) -> dict:
    """The whole run's document with which patch made which change (``per_patch``)."""
    from workbench.bench import document

    status = err.status("per patch…") if interactive else None
    if status:
        status.start()
        per_patch.progress = lambda msg, case: status.update(f"per patch: {msg}")
    try:
        return document.with_per_patch(doc, per_patch.attribute(doc, files))
    finally:
        if status:
            status.stop()


def cmd_run(args: argparse.Namespace) -> int:
    from workbench.bench import document, per_patch_report, report
    from workbench.bench.runner import BenchRun, Settings, run
    from workbench.fsutil import atomic_write_bytes, atomic_write_json

    if args.budget <= 0 or not 0 < args.min_effect < 1:
        raise UsageError(
            "--budget must be > 0 and --min-effect between 0 and 1",
            "e.g. --budget 10 --min-effect 0.02",
        )
    if args.max_budget is not None and args.max_budget < args.budget:
        raise UsageError(
            "--max-budget must be at least --budget", "e.g. --budget 10 --max-budget 30"
        )
    if args.processes is not None and args.processes < 1:
        raise UsageError("--processes must be at least 1", "e.g. --processes 8")
    try:
        ws = Workspace.discover()
    except UsageError:
        ws = None
    settings = Settings(
        budget=args.budget,
        max_budget=args.max_budget,
        processes=args.processes,
        min_effect=args.min_effect,
        threads=args.threads or None,
        adaptive=not args.no_adaptive,
        all_cases=args.all_cases,
        allocator=args.allocator,
    )
    # The series' steps are read before anything is built or timed: unsaved work is refused now.
    per_patch = _per_patch(args, ws, settings) if args.per_patch else None
    series: dict = {}
    files, base, patched, changes = _sides(args, ws, series)
    for f in files:
        if not Path(f).is_file():
            raise UsageError(
                f"no bench file {f}", "give a path to a .py file with @bench functions"
            )
    runs: list[BenchRun] = []
    if not args.json:
        err.print(f"starting the bench workers for {len(files)} file(s)")
    interactive = err.is_terminal and not args.json
    status = err.status("starting workers…") if interactive else None
    if status:
        status.start()
    interrupted = False
    try:
        for f in files:
            run(
                Path(f),
                base,
                patched,
                settings,
                only=args.only,
                progress=(lambda msg, case: status.update(msg)) if status else None,
                changes=changes,
                into=runs,
            )
    except KeyboardInterrupt:
        if not any(c.comparison for r in runs for c in r.cases):
            raise
        interrupted = True
        for r in runs:
            for c in r.cases:
                if c.comparison is None and not (c.skipped or c.untimed):
                    c.untimed = "not timed: the run was interrupted"
    finally:
        if status:
            status.stop()
    command = (
        "workbench bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 2 and sys.argv[1] == "bench"
        else None
    )
    folder = run_folder(ws, args.name, args.out)
    doc = document.to_document(
        runs,
        upstream=args.name,
        command=command,
        extra={"run_id": folder.name, "interrupted": interrupted, **series},
    )
    if per_patch is not None and not interrupted:
        doc = _attribute(per_patch, doc, files, interactive)
        interrupted = per_patch.interrupted
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "bench.json", doc)
    atomic_write_bytes(folder / "bench.md", report.to_markdown(doc).encode())
    try:
        report.to_png(doc, folder / "bench.png")
    except ImportError:
        err.print("no matplotlib here: bench.png not written (pip install matplotlib)")
    if args.json:
        print_json(doc)
    else:
        nothing = report.no_bench_line(doc)
        if nothing and not report.off_change_cases(doc):
            out.print(escape(nothing.replace("`", "")))
        else:
            out.print(report.to_rich(doc))
        for line in report.warning_lines(doc):
            err.print(f"[yellow]no verdict[/] {escape(line.replace('`', ''))}")
        for line in report.outputs_lines(doc):
            err.print(f"[red]outputs differ[/] {escape(line.replace('`', ''))}")
        for line in per_patch_report.lines(doc):
            out.print(escape(line))
        out.print(f"results in {folder}")
    if interrupted:
        err.print(f"workbench: interrupted: the cases measured so far are in {folder}")
        return 130
    differ = [c["id"] for c in doc["cases"] if report.is_evidence(c) and report.outputs_differ(c)]
    if args.require_same_outputs and differ:
        raise ProblemFound(
            f"outputs differ between baseline and patched: {', '.join(differ)}",
            f"details in {folder / 'bench.md'}",
        )
    if args.fail_on_slower and doc["summary"].get("slower"):
        slower = [c["id"] for c in doc["cases"] if report.backed_verdict(c) == "slower"]
        raise ProblemFound(f"slower: {', '.join(slower)}", f"details in {folder / 'bench.md'}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from workbench.bench import document, per_patch_report, report

    try:
        doc = json.loads(args.file.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{args.file} is not JSON: {exc}") from None
    if doc.get("kind") != "bench" or doc.get("schema") not in (1, 2, document.SCHEMA):
        raise UsageError(
            f"{args.file} is not a bench.json of schema {document.SCHEMA}",
            "give the bench.json of a `workbench bench run`",
        )
    if args.json:
        print_json(doc)
    elif args.markdown:
        sys.stdout.write(report.to_markdown(doc))
    if args.png:
        report.to_png(doc, args.png)
        out.print(f"wrote {args.png}")
    if not (args.json or args.markdown or args.png):
        out.print(report.to_rich(doc))
        for line in per_patch_report.lines(doc):
            out.print(escape(line))
    return 0
