"""``workbench tui``: the dashboard. Textual is imported only when it runs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    help_ = "the dashboard (what `workbench` opens on a terminal)"
    p = sub.add_parser("tui", help=help_, description=help_)
    p.set_defaults(func=cmd_tui)


def cmd_tui(args: argparse.Namespace) -> int:
    from workbench.paths import Workspace
    from workbench.tui.app import make_app  # Textual loads only on this path

    make_app(Workspace.discover()).run()
    return 0
