"""Every command's failure paths end in one line on stderr: what is wrong and how to fix it.

The commands are read from the parser, so a new command is walked without editing this file.
Each leaf command is run the ways a contributor gets it wrong: outside a workbench checkout and
with an upstream name no recipe has (an unknown option: ``test_layers.py``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cli import build_parser


def _leaves(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, (*prefix, name))


LEAVES = dict(_leaves(build_parser()))


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Required positionals, and an optional upstream NAME (``issues [NAME]``)."""
    return [
        a
        for a in parser._actions
        if not a.option_strings
        and not isinstance(a, argparse._SubParsersAction)
        and (a.nargs not in ("?", "*", argparse.REMAINDER) or a.dest in ("name", "names"))
    ]


NEEDS_A_CHOICE = {("patches", "rebase"): ["--onto", "origin/main"]}
"""Options a command checks before it looks at the name (one of several is needed)."""


def _argv(command: tuple[str, ...], name: str) -> list[str]:
    """The command with its positionals filled (an upstream name, a PR reference, a revision)
    and its required options given a valid value, so that the name is what is wrong."""
    parser = LEAVES[command]
    args: list[str] = []
    for action in _positionals(parser):
        dest = action.dest.lower()
        if "ref" in dest or dest == "pr":
            args.append("example/demo#1")
        elif "rev" in dest:
            args.append("HEAD")
        else:
            args.append(name)
    for action in parser._actions:
        if action.option_strings and action.required:
            value = sorted(action.choices)[0] if action.choices else "origin/main"
            args += [action.option_strings[-1], str(value)]
    return [*command, *args, *NEEDS_A_CHOICE.get(command, [])]


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def one_line(proc: subprocess.CompletedProcess) -> bool:
    return proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


NEEDS_NAME = [c for c in LEAVES if any(a.dest in ("name", "names") for a in LEAVES[c]._actions)]


@pytest.mark.parametrize("command", NEEDS_NAME, ids=" ".join)
def test_an_unknown_upstream_is_one_line_naming_the_recipes(command, workspace):
    proc = run(_argv(command, "nosuch"), workspace.root)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert one_line(proc), proc.stderr
    assert "nosuch" in proc.stderr and "demo" in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", list(LEAVES), ids=" ".join)
def test_outside_a_checkout_every_command_fails_in_one_line_or_works(
    command, tmp_path, monkeypatch
):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WORKBENCH_HOME": str(tmp_path / "state"),
        "GH_TOKEN": "t",
        "WORKBENCH_GITHUB_API": "http://127.0.0.1:9",
        "WORKBENCH_GITHUB_RETRIES": "0",
    }
    proc = run(_argv(command, "demo"), tmp_path, env)
    if proc.returncode == 0:
        return  # a command that needs no checkout (doctor, bench on a file, ...) may work here
    assert proc.returncode in (1, 2), (proc.stdout, proc.stderr)
    assert one_line(proc), proc.stderr
