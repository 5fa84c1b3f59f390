"""``workbench build``: the baseline and patched environments of an upstream."""

from __future__ import annotations

import argparse

from rich.markup import escape

from workbench.commands import JSON_HELP, command
from workbench.console import err, out, print_json


def register(sub: argparse._SubParsersAction) -> None:
    command(
        sub,
        "build",
        "build the baseline and patched environments of NAME",
        cmd_build,
        description="build the baseline and patched environments of NAME "
        "(reused while the pin, the series and the build inputs are unchanged)",
        upstream=True,
        json=JSON_HELP,
    )


def cmd_build(args: argparse.Namespace) -> int:
    from workbench.config import load_recipe
    from workbench.envs.builder import EnvBuilder
    from workbench.paths import Workspace

    ws = Workspace.discover()
    recipe = load_recipe(ws, args.name)
    log = None if args.json else (lambda msg: err.print(escape(msg)))
    builder = EnvBuilder(ws, recipe, log=log)
    envs = builder.build()
    if args.json:
        print_json(
            {
                "upstream": recipe.name,
                "device": builder.device,
                "sides": [
                    {
                        "side": e.side,
                        "path": str(e.path),
                        "python": str(e.python),
                        "mode": e.mode,
                        "worktree": str(e.worktree),
                        "rebuilt": e.rebuilt,
                        "seconds": round(e.seconds, 2),
                    }
                    for e in envs
                ],
            }
        )
        return 0
    for e in envs:
        what = f"built in {e.seconds:.1f} s" if e.rebuilt else "up to date"
        out.print(f"{e.side:9} {ws.relative(e.path)} ({e.mode}, {builder.device}): {what}")
    return 0
