"""``workbench doctor``: what is set up and what is missing, one line each."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
from dataclasses import asdict, dataclass

from workbench.commands import JSON_HELP, command
from workbench.config import Recipe, known_upstreams, load_recipe
from workbench.errors import WorkbenchError
from workbench.paths import Workspace

STORE_BUSY_S = 5.0
"""How long the store check waits for a writer's lock before it says the store is busy."""


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    level: str
    """``ok``, ``warn`` or ``fail``."""
    detail: str


def run_checks() -> list[DoctorCheck]:
    checks: list[DoctorCheck] = []
    if not shutil.which("git"):
        return [DoctorCheck("git", "fail", "git is not on PATH; install git 2.34 or newer")]
    # GitPython refuses to import without git on PATH: imported only once git is known to be.
    from workbench.gitops.git import identity_problem, run

    ws = Workspace.discover()
    version = run(ws.root, "--version").stdout
    checks.append(DoctorCheck("git", "ok", version))
    problem = identity_problem(ws.root)
    checks.append(
        DoctorCheck(
            "git identity",
            "fail" if problem else "ok",
            problem + "; set user.name and user.email" if problem else "set",
        )
    )
    checks.append(_store_check(ws))
    for name in known_upstreams(ws):
        try:
            recipe = load_recipe(ws, name)
        except WorkbenchError as exc:
            checks.append(DoctorCheck(f"recipe {name}", "fail", exc.one_line()))
            continue
        checks.append(
            DoctorCheck(
                f"recipe {name}",
                "ok",
                f"{recipe.upstream.repo} pin {recipe.upstream.pin} ({recipe.pin_source})",
            )
        )
        fetched = ws.src(name).exists()
        checks.append(
            DoctorCheck(
                f"clone {name}",
                "ok" if fetched else "warn",
                ws.relative(ws.src(name))
                if fetched
                else f"not fetched; run: workbench upstream fetch {name}",
            )
        )
        checks.append(_deps_check(ws, recipe))
    return checks


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def _store_check(ws: Workspace) -> DoctorCheck:
    """The GitHub store's integrity (``PRAGMA quick_check``) on a read-only connection: the
    file is never written, not even migrated (SQLite may add the empty ``-wal``/``-shm`` files
    that any reader of a WAL database uses)."""
    from workbench.github.store import SCHEMA_VERSION, store_path

    label = "github store"
    path = store_path(ws)
    rel = ws.relative(path)
    if not path.exists():
        return DoctorCheck(label, "warn", f"{rel}: nothing synced yet; run: workbench sync")
    aside = f"move {rel} and its -wal/-shm files aside, then run: workbench sync"
    recover = f"the store is a cache of GitHub: {aside}"
    check = "quick_check"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=STORE_BUSY_S)
        try:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                # Confirmed by the full check, which finds all that quick_check does: SQLite
                # 3.40.0-3.41.0's quick_check reports NULLs in a sound WITHOUT ROWID table whose
                # key lists its columns in another order (item_labels).
                check = "integrity_check"
                problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return DoctorCheck(label, "warn", f"{rel} is busy ({exc}); run: workbench doctor again")
        return DoctorCheck(label, "fail", f"{rel} cannot be read ({exc}); {recover}")
    except sqlite3.DatabaseError as exc:
        return DoctorCheck(label, "fail", f"{rel} is corrupt ({exc}); {recover}")
    if problems != ["ok"]:
        # One problem a line, under a "*** in database main ***" heading; up to 100 of them.
        lines = [ln.strip() for p in problems for ln in p.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("***")] or ["?"]
        first = lines[0]
        more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
        return DoctorCheck(label, "fail", f"{rel} is corrupt ({check}: {first}{more}); {recover}")
    if version > SCHEMA_VERSION:
        return DoctorCheck(
            label,
            "fail",
            f"{rel} has schema {version}; this workbench knows up to {SCHEMA_VERSION}: "
            f"update the workbench, or {aside} (the store is a cache of GitHub)",
        )
    size = path.stat().st_size
    shown = _gb(size) if size >= 1e6 else f"{size / 1e3:.0f} kB"
    return DoctorCheck(label, "ok", f"{rel} ({shown}, schema {version})")


def _deps_check(ws: Workspace, recipe: Recipe) -> DoctorCheck:
    """The shared deps environment of the recipe's build mode on this device, and its size."""
    from workbench.envs.builder import EnvBuilder
    from workbench.envs.venv import built, tree_bytes

    label = f"environment {recipe.name}"
    try:
        builder = EnvBuilder(ws, recipe)
        mode = builder.mode()
    except WorkbenchError as exc:
        return DoctorCheck(label, "warn", exc.one_line())
    path, key = builder.deps_path(mode)
    wanted = ", ".join(mode.packages) or "no packages"
    if not built(path, key):
        return DoctorCheck(
            label,
            "warn",
            f"not built ({wanted}; made once per machine): run: workbench build {recipe.name}",
        )
    return DoctorCheck(label, "ok", f"{path} ({_gb(tree_bytes(path))}: {wanted}, {mode.name} mode)")


def register(sub: argparse._SubParsersAction) -> None:
    command(
        sub,
        "doctor",
        "check git, the GitHub store, the recipes and the clones",
        cmd_doctor,
        json=JSON_HELP,
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    from workbench.console import out, print_json

    checks = run_checks()
    if args.json:
        print_json([asdict(c) for c in checks])
    else:
        for c in checks:
            color = {"ok": "green", "warn": "yellow", "fail": "red"}[c.level]
            out.print(f"[{color}]{c.level:>4}[/]  {c.name}: ", end="")
            out.print(c.detail, markup=False)
    return 1 if any(c.level == "fail" for c in checks) else 0
