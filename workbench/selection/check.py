"""``workbench tests run``: build both sides, run the selection on patched, compare on baseline.

With ``--per-patch``, :mod:`workbench.selection.perpatch` then says which patch did it."""

from __future__ import annotations

import shlex
from dataclasses import asdict
from pathlib import Path
from typing import TypedDict

from workbench.config import Recipe
from workbench.envs.builder import EnvBuilder, SideEnv
from workbench.envs.versions import package_versions
from workbench.errors import ProblemFound
from workbench.fsutil import atomic_write_json
from workbench.paths import Workspace
from workbench.runs import new_run_dir, now_iso
from workbench.selection import mapping, perpatch
from workbench.selection.perfile import file_commands, run_files, selection_files
from workbench.selection.run import SCHEMA, JunitReport, PytestRun, run_pytest
from workbench.steps.series import series_steps
from workbench.vocabulary import BASELINE, PATCHED, Log

CHUNK = 500
"""Node ids per pytest process when a test map selects tests one by one."""


class FailingTest(TypedDict):
    """A test that failed on the patched side, as ``tests.json`` lists it."""

    id: str
    status: str
    message: str
    on_baseline: str
    """Its status on the baseline side, or ``missing`` when the baseline lacks the test."""


def _reproduce(env: dict[str, str], targets: list[str], args: list[str], per_file: bool) -> str:
    """The command a reviewer can paste in the upstream checkout: no local paths."""
    if per_file:  # one process per file, as test/run_tests.sh runs them
        return "; ".join(file_commands(env, targets))
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return " ".join([prefix, "python -m pytest", shlex.join([*targets, *args])]).strip()


def run_tests(
    ws: Workspace,
    recipe: Recipe,
    *,
    pytest_args: list[str] | None = None,
    device: str | None = None,
    log: Log | None = None,
    per_patch: str | None = None,
) -> tuple[dict, Path]:
    """Run the selection (or ``pytest_args``) and write ``tests.json``; ``per_patch`` (one of
    :data:`perpatch.METHODS`) attributes the outcome to the series' patches too."""
    builder = EnvBuilder(ws, recipe, device=device, log=log)
    # Checked first: a worktree that is not the series is refused before anything is built.
    steps = series_steps(builder) if per_patch else None
    envs = {e.side: e for e in builder.build()}
    patched, baseline = envs[PATCHED], envs[BASELINE]
    changed = builder.changed_files()
    selection = mapping.selection(ws, builder, changed, baseline)
    fallback = recipe.tests.devices.get(builder.device)
    env, args = mapping.device_settings(builder)
    per_file = recipe.tests.runner == "run_tests.sh"
    targets = list(pytest_args) if pytest_args else selection.paths
    if per_file:
        targets = selection_files(patched.worktree, targets)
    run_id, folder = new_run_dir(ws, recipe.name, "tests")
    doc: dict = {
        "schema": SCHEMA,
        "kind": "tests",
        "upstream": recipe.name,
        "run_id": run_id,
        "started": now_iso(),
        "device": builder.device,
        "device_note": fallback.note if fallback else None,
        "series_digest": builder.engine.series().digest(),
        "patched_head": builder.engine.co.head(patched.worktree),
        "baseline_head": builder.engine.co.head(baseline.worktree),
        "changed_files": changed,
        "selection": [asdict(t) for t in selection.tests],
        "unmapped": selection.unmapped,
        # The test map the node ids come from, the changed code no mapped test runs here, and
        # why a map that exists was not used.
        "map": selection.map,
        "not_exercised": selection.not_exercised,
        "map_note": selection.note,
        "override": pytest_args or None,
        "runner": recipe.tests.runner,
        # The files run, each in its own process (the run_tests.sh runner): the PR's test plan.
        "files": targets if per_file else None,
        "env": env,
        "versions": package_versions(patched.python),
        # What a reviewer can paste in the upstream checkout: no local paths, no junit options.
        "reproduce": _reproduce(env, targets, args, per_file) if targets else None,
        "pytest_args": args,
    }
    # Every selected target, one per line: the PR draft names files and counts, this the rest.
    (folder / "selected.txt").write_text("".join(f"{t}\n" for t in targets))
    if not targets:
        doc.update(
            command=None,
            counts={},
            skipped_by_reason={},
            regressions=[],
            preexisting=[],
            note="no test file is selected by the changed files",
        )
        if steps is not None:
            entries, cost = perpatch.nothing_selected(steps)
            doc.update(schema=perpatch.SCHEMA, per_patch=entries, per_patch_cost=cost)
        atomic_write_json(folder / "tests.json", doc)
        return doc, folder
    log_file = folder / "log"

    def run_side(side: SideEnv, which: list[str]) -> PytestRun:
        if per_file:
            files = list(dict.fromkeys(t.split("::", 1)[0] for t in which))
            return run_files(
                side.python,
                side.worktree,
                files,
                folder,
                log_file,
                env=env,
                timeout=recipe.tests.file_timeout,
                side=side.side,
                progress=log,
            )
        name = "junit" if side.side == PATCHED else f"junit-{side.side}"
        chunks = [which[i : i + CHUNK] for i in range(0, len(which), CHUNK)] or [which]
        runs = [
            run_pytest(
                side.python,
                side.worktree,
                chunk,
                folder / (f"{name}.xml" if i == 0 else f"{name}-{i + 1}.xml"),
                log_file,
                env=env,
                args=args,
            )
            for i, chunk in enumerate(chunks)
        ]
        if len(runs) == 1:
            return runs[0]
        # Node ids go to pytest in chunks (command lines have a limit); one report of them all.
        worst = max((r.returncode for r in runs), key=lambda c: (c not in (0, 5), c))
        report = JunitReport([o for r in runs for o in r.report.outcomes])
        return PytestRun(worst, report, sum(r.seconds for r in runs), runs[0].command, log_file)

    result = run_side(patched, targets)
    report = result.report
    if result.returncode not in (0, 1, 5) and not report.outcomes:
        raise ProblemFound(
            f"the test runner could not run the selection (exit {result.returncode})",
            f"see {ws.relative(log_file)}",
        )
    failing = [o for o in report.outcomes if o.status in ("failed", "error")]
    on_baseline: dict[str, str] = {}
    if failing:
        present = [o.id for o in failing if (baseline.worktree / o.id.split("::", 1)[0]).is_file()]
        if present:
            base_run = run_side(baseline, present)
            on_baseline = {o.id: o.status for o in base_run.report.outcomes}
    regressions: list[FailingTest] = []
    preexisting: list[FailingTest] = []
    for o in failing:
        before = on_baseline.get(o.id, "missing")
        entry: FailingTest = {
            "id": o.id,
            "status": o.status,
            "message": o.message,
            "on_baseline": before,
        }
        (preexisting if before in ("failed", "error") else regressions).append(entry)
    doc.update(
        command=" ".join(result.command),
        seconds=round(result.seconds, 2),
        counts={s: report.count(s) for s in ("passed", "failed", "error", "skipped")},
        skipped_by_reason=report.skipped_by_reason(),
        regressions=regressions,
        preexisting=preexisting,
    )
    if steps is not None and per_patch is not None:
        entries, cost = perpatch.attribute(
            ws,
            builder,
            steps,
            targets=targets,
            by_hand=bool(pytest_args),
            baseline=baseline,
            final={o.id: o.status for o in report.outcomes},
            on_baseline=on_baseline,
            run=run_side,
            method=per_patch,
            log=log,
        )
        doc.update(schema=perpatch.SCHEMA, per_patch=entries, per_patch_cost=cost)
    atomic_write_json(folder / "tests.json", doc)
    return doc, folder
