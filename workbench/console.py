"""The terminal: one pair of Rich consoles and one JSON printer for every command.

Results go to ``out`` (stdout), progress, warnings and errors to ``err`` (stderr), so a command's
``--json`` output can be piped while its progress stays on the terminal.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
# Tables keep their columns when the output goes to a file or a CI log.
tables = Console(highlight=False, width=None if Console().is_terminal else 160)


def confirm(question: str, *, refusal: str, hint: str) -> bool:
    """Ask ``question`` [y/N] on the terminal; with no terminal to ask on, a UsageError saying
    ``refusal`` and ``hint`` (the ``--yes`` to pass), never a silent yes."""
    from workbench.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(refusal, hint)
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def print_json(value: object) -> None:
    """A result document on stdout: indented, anything not JSON by nature as its string."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
