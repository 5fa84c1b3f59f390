"""Local overrides that never touch tracked files.

``workbench.toml`` at the workspace root (git-ignored)::

    [upstreams.ao]
    url = "/home/me/src/ao"      # a local mirror or a fork
    pin = "v0.18.0"

and environment variables ``WORKBENCH_<NAME>_URL`` / ``WORKBENCH_<NAME>_PIN``, which win over the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from workbench.config.toml_reader import TableReader
from workbench.errors import RecipeError


@dataclass(frozen=True)
class Override:
    value: str
    source: str
    """Where it came from, as status shows it: ``workbench.toml`` or ``env WORKBENCH_AO_PIN``."""


def env_name(upstream: str, what: str) -> str:
    return f"WORKBENCH_{upstream.upper().replace('-', '_')}_{what.upper()}"


def read_local_config(path: Path, known: list[str]) -> dict[str, dict[str, str]]:
    """The ``[upstreams.<name>]`` overrides of workbench.toml, validated."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(path.name, None, f"is not valid TOML: {exc}") from None
    top = TableReader(data, path.name)
    result: dict[str, dict[str, str]] = {}
    for name, table in top.table("upstreams", required=False).subtables().items():
        if name not in known:
            raise RecipeError(
                path.name,
                f"upstreams.{name}",
                f"names no upstream (known: {', '.join(known)})",
            )
        values = {}
        for key in ("url", "pin"):
            v = table.string(key, "a non-empty string", required=False)
            if v is not None:
                values[key] = v
        table.done()
        result[name] = values
    top.table("remote", required=False)  # validated by workbench.remote.settings
    top.done()
    return result


def override_for(name: str, what: str, local: dict[str, dict[str, str]]) -> Override | None:
    env = env_name(name, what)
    value = os.environ.get(env)
    if value:
        return Override(value, f"env {env}")
    value = local.get(name, {}).get(what)
    if value:
        return Override(value, "workbench.toml")
    return None
