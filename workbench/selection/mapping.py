"""``workbench tests map`` and the selection that uses a map when one fits.

The map is made on the baseline side (the pin), in its environment, on this machine's device,
with the device's fallback settings (the same ``env`` and pytest arguments ``tests run`` uses).
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.config import Recipe
from workbench.envs.builder import EnvBuilder, SideEnv
from workbench.envs.versions import PACKAGES
from workbench.errors import ProblemFound, UsageError
from workbench.fsutil import atomic_write_json
from workbench.gitops.git import run as git
from workbench.paths import Workspace
from workbench.runs import new_run_dir, now_iso
from workbench.selection import testmap
from workbench.selection.select import Selection, by_map, files_under, select
from workbench.vocabulary import BASELINE, Log


def device_settings(builder: EnvBuilder) -> tuple[dict[str, str], list[str]]:
    """The environment and pytest arguments for this device: the build mode's and the
    recipe's fallback for it (``tests run`` and ``tests map`` run pytest the same way)."""
    fallback = builder.recipe.tests.devices.get(builder.device)
    env = {**builder.mode().env, **(fallback.env if fallback else {})}
    return env, list(fallback.args if fallback else ())


def make_map(
    ws: Workspace,
    recipe: Recipe,
    paths: list[str] | None,
    log: Log,
    device: str | None = None,
    refresh: bool = False,
) -> dict:
    """Map the tests under ``paths`` (default: the recipe's test root) on the baseline side.

    ``refresh``: start from the newest map of an earlier pin (same device and environment),
    keeping the test files that neither changed nor ran code that changed between the pins,
    and run the rest."""
    if recipe.tests.runner != "pytest":
        raise UsageError(
            f"{recipe.name}'s tests run through {recipe.tests.runner}, one file per process: "
            "a test map needs pytest",
            "select and run its tests with `workbench tests run` (whole files)",
        )
    started = now_iso()
    builder = EnvBuilder(ws, recipe, device=device, log=log)
    [base] = builder.build(sides=(BASELINE,))
    files: list[str] = []
    for p in paths or [recipe.tests.root]:
        found = files_under(base.worktree, p.rstrip("/"))
        if not found:
            raise UsageError(
                f"no test file at {p} in {recipe.name}'s pin",
                f"give test files or folders under {recipe.tests.root}/",
            )
        if not paths:  # the whole root: without what the recipe leaves out of maps
            found = [
                f
                for f in found
                if not any(
                    f == x or f.startswith(x.rstrip("/") + "/") for x in recipe.tests.map_exclude
                )
            ]
        files += [f for f in found if f not in files]
    commit = builder.engine.co.head(base.worktree) or ""
    env_id = testmap.environment(base.python, PACKAGES)
    folder = testmap.folder_for(ws.home, recipe.name, commit, builder.device, env_id)
    refreshed = None
    if refresh and not (folder / "meta.json").is_file():
        old = testmap.newest_other(ws.home, recipe.name, builder.device, env_id, folder)
        if old is None:
            raise UsageError(
                f"no earlier test map of {recipe.name} on {builder.device} in this environment "
                "to refresh",
                f"make one: workbench tests map {recipe.name}",
            )
        old_commit = json.loads((old / "meta.json").read_text()).get("commit") or ""
        diff = git(base.worktree, "diff", "--name-only", "--no-renames", old_commit, commit)
        changed = set(diff.stdout.split())
        keep = testmap.reusable(old, changed, files)
        testmap.seed(old, folder, keep)
        refreshed = {"from": old_commit, "changed_files": len(changed), "kept": len(keep)}
        log(
            f"refreshing the map of {old_commit[:12]}: {len(changed)} file(s) changed since, "
            f"{len(keep)} of {len(files)} test file(s) kept, the rest run again"
        )
    pytest_env, args = device_settings(builder)
    meta = {
        "upstream": recipe.name,
        "pin": recipe.upstream.pin,
        "commit": commit,
        "device": builder.device,
        "environment": env_id,
        "pytest_args": args,
    }
    result = testmap.make(
        folder,
        python=base.python,
        worktree=base.worktree,
        test_root=recipe.tests.root,
        test_files=files,
        meta=meta,
        env=pytest_env,
        args=args,
        log=log,
    )
    m = testmap.load(folder, base.worktree)
    summary = {
        "schema": testmap.SCHEMA,
        "kind": "map",
        "upstream": recipe.name,
        "finished": now_iso(),
        **testmap.describe(m),
        "pin": recipe.upstream.pin,
        "test_files_asked": len(files),
        "resumed_from": result.done_before,
        "seconds_this_run": round(result.seconds, 1),
        "seconds_total": m.meta.get("seconds"),
        "blocks": len(m.by_block),
        "size_bytes": m.size_bytes(),
        "collection_errors": {f: e[:3] for f, e in m.errors.items()},
        "pytest_exit": result.returncode,
        "refreshed": refreshed,
    }
    atomic_write_json(folder / "summary.json", summary)
    # The fingerprints' blocks with their checksums at the pin, as testmon keeps them.
    atomic_write_json(folder / "blocks.json", m.checksums)
    # A run folder too: the Runs tab lists it, and a runner uploads it (the map inside), so
    # `workbench remote run NAME --session map` brings a GPU runner's map home.
    run_id, run_folder = new_run_dir(ws, recipe.name, "map")
    testmap.pack(folder, run_folder / testmap.ARCHIVE)
    atomic_write_json(
        run_folder / "map.json",
        {**summary, "run_id": run_id, "started": started, "map_folder": folder.name},
    )
    summary["run_id"] = run_id
    if result.returncode not in (0, 1, 5) and not m.complete:
        raise ProblemFound(
            f"pytest stopped (exit {result.returncode}) with {len(m.mapped_files)} of "
            f"{len(files)} test file(s) mapped",
            f"see {ws.relative(folder / 'log')}; run the map again to go on from there",
        )
    return summary


def baseline_environment(builder: EnvBuilder, base: SideEnv | None) -> dict[str, str] | None:
    python = base.python if base else builder.root / BASELINE / "bin" / "python"
    if not Path(python).exists():
        return None
    return testmap.environment(Path(python), PACKAGES)


def selection(
    ws: Workspace, builder: EnvBuilder, changed: list[str], base: SideEnv | None = None
) -> Selection:
    """The whole-file selection, narrowed to node ids when a map fits this pin, environment
    and device; a map that does not fit is named in ``note``."""
    recipe = builder.recipe
    co = builder.engine.co
    files = select(ws, recipe, co.patched, changed)
    if recipe.tests.runner != "pytest":
        return files
    env_id = baseline_environment(builder, base)
    commit = co.head(co.base)
    if env_id is None or commit is None:
        return files
    found = testmap.find(ws.home, recipe.name, co.base, commit, builder.device, env_id)
    if found.map is None:
        files.note = found.note
        return files
    picked = by_map(files, found.map, co.base, co.patched, recipe.tests.root, builder.device)
    if picked.not_exercised:
        # Where a map of another device (a GPU runner's) says which tests run the code.
        for folder in testmap.other_devices(ws.home, recipe.name, commit, builder.device):
            other = testmap.load(folder, co.base)
            device = other.meta.get("device")
            for gap in picked.not_exercised:
                tests = sorted(other.by_block.get((gap["file"], gap["block"]), ()))
                if tests:
                    gap.setdefault("elsewhere", {})[device] = tests
    return picked
