"""Declaring a ``workbench`` command: one call says its name, what it does and its common flags.

Every package registers its own commands (``register(sub)`` in its ``cli.py``) through
:func:`command`, so a command's help line, its ``NAME`` argument and its ``--json`` flag read
the same everywhere. The flags only one command takes stay beside it, as plain argparse.
"""

from __future__ import annotations

import argparse
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

Handler = Callable[[argparse.Namespace], int]
Number = TypeVar("Number", int, float)

JSON_HELP = "print JSON"

_JSON: weakref.WeakKeyDictionary[argparse.ArgumentParser, str] = weakref.WeakKeyDictionary()
"""The commands that print JSON, and their ``--json`` help: added last, by :func:`finish`."""


def group(sub: argparse._SubParsersAction, name: str, about: str, **kw: Any) -> Any:
    """A command with subcommands (``workbench patches ...``): the subparsers to add them to."""
    parser = sub.add_parser(name, help=about, description=kw.pop("description", about), **kw)
    return parser.add_subparsers(title="commands", metavar="COMMAND", required=True)


def command(
    sub: argparse._SubParsersAction,
    name: str,
    about: str,
    func: Handler,
    *,
    description: str | None = None,
    upstream: bool = False,
    json: str | None = None,
    passthrough: bool = False,
    **kw: Any,
) -> argparse.ArgumentParser:
    """Add command ``name`` running ``func``.

    ``about`` is its line in the parent's help and, unless ``description`` says more, the top
    of its own. ``upstream`` adds the required ``NAME`` argument (a folder of ``upstreams/``);
    ``json`` gives it ``--json`` with that help text (:data:`JSON_HELP` for plain JSON), listed
    after the options the caller adds (:func:`finish` adds it, once the parser is complete);
    ``passthrough`` lets it take the arguments after ``--``. Other keywords go to argparse
    (``epilog``, ``usage``).
    """
    parser = sub.add_parser(name, help=about, description=description or about, **kw)
    if upstream:
        parser.add_argument("name", metavar="NAME", help="upstream name (a folder of upstreams/)")
    if json:
        _JSON[parser] = json
    parser.set_defaults(func=func)
    if passthrough:
        parser.set_defaults(accepts_passthrough=True)
    return parser


def finish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every command under ``parser`` that prints JSON its ``--json`` flag, as its last
    option: call it once all the commands are registered."""
    if parser in _JSON:
        parser.add_argument("--json", action="store_true", help=_JSON.pop(parser))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                finish(sub)
    return parser


def non_negative(read: Callable[[str], Number], what: str) -> Callable[[str], Number]:
    """An argparse ``type`` for a number >= 0 that ``read`` (``int``, ``float``) parses; anything
    else is refused with ``expected WHAT >= 0, got 'TEXT'``."""

    def parse(text: str) -> Number:
        try:
            value = read(text)
        except ValueError:
            value = None
        if value is None or value < 0:
            raise argparse.ArgumentTypeError(f"expected {what} >= 0, got {text!r}")
        return value

    return parse
