"""``workbench doctor``: what is set up and what is missing, one line each."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import asdict, dataclass

from workbench.config import Recipe, known_upstreams, load_recipe
from workbench.errors import WorkbenchError
from workbench.paths import Workspace


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    """``ok``, ``warn`` or ``fail``."""
    detail: str


def run_checks() -> list[Check]:
    checks: list[Check] = []
    if not shutil.which("git"):
        return [Check("git", "fail", "git is not on PATH; install git 2.34 or newer")]
    # GitPython refuses to import without git on PATH: imported only once git is known to be.
    from workbench.gitops.git import identity_problem, run

    ws = Workspace.discover()
    version = run(ws.root, "--version").stdout
    checks.append(Check("git", "ok", version))
    problem = identity_problem(ws.root)
    checks.append(
        Check(
            "git identity",
            "fail" if problem else "ok",
            problem + "; set user.name and user.email" if problem else "set",
        )
    )
    for name in known_upstreams(ws):
        try:
            recipe = load_recipe(ws, name)
        except WorkbenchError as exc:
            checks.append(Check(f"recipe {name}", "fail", exc.one_line()))
            continue
        checks.append(
            Check(
                f"recipe {name}",
                "ok",
                f"{recipe.upstream.repo} pin {recipe.upstream.pin} ({recipe.pin_source})",
            )
        )
        fetched = ws.src(name).exists()
        checks.append(
            Check(
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


def _deps_check(ws: Workspace, recipe: Recipe) -> Check:
    """The shared deps environment of the recipe's build mode on this device, and its size."""
    from workbench.envs.builder import EnvBuilder, built, tree_bytes

    label = f"environment {recipe.name}"
    try:
        builder = EnvBuilder(ws, recipe)
        mode = builder.mode()
    except WorkbenchError as exc:
        return Check(label, "warn", exc.one_line())
    path, key = builder.deps_path(mode)
    wanted = ", ".join(mode.packages) or "no packages"
    if not built(path, key):
        return Check(
            label,
            "warn",
            f"not built ({wanted}; made once per machine): run: workbench build {recipe.name}",
        )
    return Check(label, "ok", f"{path} ({_gb(tree_bytes(path))}: {wanted}, {mode.name} mode)")


def register(sub: argparse._SubParsersAction) -> None:
    help_ = "check git, the recipes and the clones"
    p = sub.add_parser("doctor", help=help_, description=help_)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_doctor)


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
