"""The ``workbench`` command: a thin layer over the library.

Each command is registered by the package that holds its code, named after it where one name
serves: ``bench``, ``codegen``, ``pr``, ``remote``, ``tui``, ``doctor``. Where a package serves
several commands, :data:`HOMES` says which (a test keeps it true).

Every failure ends in one line on stderr saying what went wrong and what to do, and the exit code
of the design contract (0 ok, 1 a problem found, 2 bad input or environment).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from workbench import __version__
from workbench.bench.cli import register as register_bench
from workbench.codegen.cli import register as register_codegen
from workbench.commands import finish
from workbench.console import err, out
from workbench.doctor import register as register_doctor
from workbench.envs.cli import register as register_build
from workbench.errors import WorkbenchError
from workbench.github.cli import register as register_github
from workbench.gitops.cli import cmd_upstream_list, report_conflict
from workbench.gitops.cli import register as register_gitops
from workbench.pr.cli import register as register_pr
from workbench.remote.cli import register as register_remote
from workbench.selection.cli import register as register_tests
from workbench.tui.cli import register as register_tui


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


def cmd_default(args: argparse.Namespace) -> int:
    """The TUI on a terminal; the overview when piped or scripted."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        from workbench.tui.cli import cmd_tui

        return cmd_tui(args)
    return cmd_overview(args)


HOMES = {
    "upstream": "gitops",
    "patches": "gitops",
    "build": "envs",
    "tests": "selection",
    "sync": "github",
    "issues": "github",
    "prs": "github",
    "prs log": "github",
    "notifications": "github",
}
"""The package of each command not named after it: git operations, environments, test selection,
GitHub."""


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

    # The way the data goes: upstream → patches → build/tests/bench → tracker.
    register_gitops(sub)
    register_build(sub)
    register_tests(sub)
    register_bench(sub)
    register_codegen(sub)
    register_github(sub)
    register_remote(sub)
    register_pr(sub)

    register_tui(sub)
    register_doctor(sub)
    return finish(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # what follows -- goes to the tool underneath (pytest), untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    if argv[:2] == ["prs", "log"]:
        # `prs` takes an optional upstream NAME, so `log` is no subcommand of it: the command
        # is registered as "prs log" (its usage reads `workbench prs log`).
        argv[:2] = ["prs log"]
    args = parser.parse_args(argv)
    if passthrough and not getattr(args, "accepts_passthrough", False):
        parser.error("arguments after -- are only taken by `workbench tests run`")
    args.passthrough = passthrough
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        report_conflict(exc)
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
