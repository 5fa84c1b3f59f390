"""Where things live: the one module that knows the workspace layout.

A workspace is a checkout of the workbench repository: ``upstreams/<name>/recipe.toml`` (tracked),
``patches/<name>/`` (tracked, the contributor's series), ``upstreams/<name>/{src,base,patched}``
(created by the tool, git-ignored) and ``.workbench/`` (state, git-ignored; ``WORKBENCH_HOME``
moves it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import UsageError
from workbench.vocabulary import PATCHED

RECIPE_FILE = "recipe.toml"
LOCAL_CONFIG = "workbench.toml"


def _is_workspace(path: Path) -> bool:
    upstreams = path / "upstreams"
    return upstreams.is_dir() and any(upstreams.glob(f"*/{RECIPE_FILE}"))


STATE_DIR = ".workbench"


def state_home(base: Path) -> Path:
    """``WORKBENCH_HOME`` if set, else ``.workbench/`` in ``base`` (a checkout, or the current
    folder for commands that also run outside one, such as ``bench run --file``)."""
    env = os.environ.get("WORKBENCH_HOME")
    return Path(env).expanduser().resolve() if env else base / STATE_DIR


def cache_home() -> Path:
    """The per-user cache shared by every workspace: ``WORKBENCH_CACHE``, else
    ``$XDG_CACHE_HOME/workbench``, else ``~/.cache/workbench``. It holds what is large and the
    same for every checkout (the deps environments: the pinned torch, released wheels)."""
    env = os.environ.get("WORKBENCH_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "workbench"


@dataclass(frozen=True)
class Workspace:
    """A workbench checkout and the paths derived from it."""

    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> Workspace:
        """``WORKBENCH_ROOT`` if set, else the nearest folder at or above ``start`` with recipes."""
        env = os.environ.get("WORKBENCH_ROOT")
        if env:
            root = Path(env).expanduser().resolve()
            if not _is_workspace(root):
                raise UsageError(
                    f"WORKBENCH_ROOT={env} has no upstreams/*/recipe.toml",
                    "point WORKBENCH_ROOT at a workbench checkout or unset it",
                )
            return cls(root)
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if _is_workspace(candidate):
                return cls(candidate)
        raise UsageError(
            f"{here} is not inside a workbench checkout (no upstreams/*/recipe.toml above it)",
            "cd into your workbench clone or set WORKBENCH_ROOT",
        )

    @property
    def upstreams_dir(self) -> Path:
        return self.root / "upstreams"

    @property
    def patches_root(self) -> Path:
        return self.root / "patches"

    @property
    def local_config(self) -> Path:
        return self.root / LOCAL_CONFIG

    @property
    def home(self) -> Path:
        """Per-workspace state (``.workbench/``), moved by ``WORKBENCH_HOME``."""
        return state_home(self.root)

    def recipe_file(self, name: str) -> Path:
        return self.upstreams_dir / name / RECIPE_FILE

    def src(self, name: str) -> Path:
        return self.upstreams_dir / name / "src"

    def base(self, name: str) -> Path:
        return self.upstreams_dir / name / "base"

    def patched(self, name: str) -> Path:
        return self.upstreams_dir / name / PATCHED  # the folder is named after its side

    def patches(self, name: str) -> Path:
        return self.patches_root / name

    def env_dir(self, name: str, side: str) -> Path:
        """The virtual environment the nox sessions build for one side (baseline or patched)."""
        return self.home / "envs" / name / side

    def env_python(self, name: str, side: str) -> Path:
        return self.env_dir(name, side) / "bin" / "python"

    def runs(self, name: str) -> Path:
        return self.home / "runs" / name

    def state_dir(self) -> Path:
        return self.home / "state"

    def trash(self, name: str) -> Path:
        """Where files a command replaces go, so nothing the contributor wrote is dropped."""
        return self.home / "trash" / name

    def relative(self, path: Path) -> str:
        """A path as the contributor would type it from the workspace root."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
