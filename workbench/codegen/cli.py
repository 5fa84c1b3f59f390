"""``workbench codegen NAME``: what the series does to the compiled Triton kernels, per target."""

from __future__ import annotations

import argparse
import time

from rich.markup import escape

from workbench.commands import command
from workbench.console import err, print_json
from workbench.console import tables as out
from workbench.errors import ProblemFound, UsageError
from workbench.paths import Workspace
from workbench.vocabulary import BASELINE, PATCHED

TARGET_HELP = "a GPU target: sm_80, sm_90, sm_100 (NVIDIA) or gfx942 (AMD); repeatable"


def register(sub: argparse._SubParsersAction) -> None:
    c = command(
        sub,
        "codegen",
        "compile the kernels the series changes or the benches launch, before and after, "
        "for GPU targets, without a GPU",
        cmd_codegen,
        description="Record the Triton launches of the bench cases under the interpreter on "
        "both sides, compile them for each target (TTIR, TTGIR, LLIR, PTX/SASS, AMDGCN), diff "
        "the stages, compare registers/spills/instructions, and check that the patched kernels "
        "give the baseline's outputs on the baseline's inputs. Exit 1 on a compile error on "
        "one side, changed outputs, or a changed kernel that no launch compiles.",
        upstream=True,
        json="print codegen.json to stdout",
    )
    c.add_argument("--target", action="append", metavar="TARGET", help=TARGET_HELP)
    c.add_argument("--only", metavar="PATTERN", help="bench cases whose id contains PATTERN")


def cmd_codegen(args: argparse.Namespace) -> int:
    import re

    from workbench.codegen import report
    from workbench.codegen.run import CodegenPlan, run
    from workbench.codegen.sides import Side
    from workbench.config import load_recipe
    from workbench.envs.builder import EnvBuilder
    from workbench.fsutil import atomic_write_bytes, atomic_write_json
    from workbench.paths import cache_home
    from workbench.runs import now_iso

    ws = Workspace.discover()
    recipe = load_recipe(ws, args.name)
    targets = list(dict.fromkeys(args.target or recipe.codegen_targets))
    for t in targets:
        if not re.fullmatch(r"sm_\d+a?|gfx[0-9a-f]+", t):
            raise UsageError(f"unknown target {t!r}", "give sm_80, sm_90, sm_100 or gfx942")
    log = (lambda msg: None) if args.json else (lambda msg: err.print(escape(msg)))
    builder = EnvBuilder(ws, recipe, log=log)
    envs = {e.side: e for e in builder.build()}
    files = sorted((ws.upstreams_dir / args.name / recipe.bench_folder).glob("*.py"))
    mode_env = dict(recipe.build_mode("cpu").env)
    sides = {side: Side(side, str(e.python), e.worktree, mode_env) for side, e in envs.items()}
    missing = _without_triton(sides)
    if missing:
        raise UsageError(
            f"no triton in the {missing} environment of {args.name}",
            f"add triton to the build mode's packages in upstreams/{args.name}/recipe.toml "
            f"and run nox -s {args.name}_build",
        )
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-codegen"
    folder = ws.runs(args.name) / run_id
    plan = CodegenPlan(
        name=args.name,
        sides=sides,
        files=files,
        targets=targets,
        changed_files=builder.changed_files(),
        folder=folder,
        cache=cache_home() / "codegen",
        only=args.only,
        hide=(str(ws.root),),
    )
    started = now_iso()
    doc = run(plan, log)
    doc.update(
        run_id=run_id,
        started=started,
        series_digest=builder.engine.series().digest(),
        baseline_head=builder.engine.co.head(envs[BASELINE].worktree),
        patched_head=builder.engine.co.head(envs[PATCHED].worktree),
        changed_files=plan.changed_files,
        bench_files=[ws.relative(f) for f in files],
    )
    atomic_write_json(folder / "codegen.json", doc)
    atomic_write_bytes(folder / "codegen.md", report.to_markdown(doc, folder).encode())
    if args.json:
        print_json(doc)
    else:
        out.print(report.to_rich(doc))
        for u in doc["uncovered"]:
            err.print(
                f"[yellow]not compiled[/] {escape(u['qualname'])} ({escape(u['file'])}): "
                f"{escape(u['what_to_add'])}"
            )
        out.print(report.summary_line(doc))
        out.print(f"results in {ws.relative(folder)} (codegen.json, codegen.md, diffs/)")
    if doc["findings"]:
        first = doc["findings"][0]
        more = f" (and {len(doc['findings']) - 1} more)" if len(doc["findings"]) > 1 else ""
        raise ProblemFound(first + more, f"details in {ws.relative(folder / 'codegen.md')}")
    return 0


def _without_triton(sides: dict) -> str | None:
    import subprocess

    for label, side in sides.items():
        probe = subprocess.run(
            [side.python, "-c", "import importlib.util as u; print(bool(u.find_spec('triton')))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() != "True":
            return label
    return None
