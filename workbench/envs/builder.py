"""Two environments per upstream, baseline (the pin) and patched (pin + series), reused by content.

Layout:

- the deps environment, in the per-user cache (``paths.cache_home()/deps/<name>-<hash>``), shared
  by every workspace and made once per machine: a venv with the build mode's packages (the pinned
  torch, the released wheel; 7 GB for pytorch/xla), named by the hash of what it holds. When the
  interpreter running the workbench already has one of the pinned requirements (the same torch),
  the ``.pth`` file also lists its site-packages, so that is not installed twice; otherwise the
  environment is self-contained and one copy serves every workbench venv. A lock file
  keeps two workspaces from building it at once; its stamp is written last, so one cut off
  half-way is built again.
- ``.workbench/envs/<name>/baseline/`` and ``patched/``: light venvs whose ``.pth`` file points
  at the deps environment, each with
  its side of the upstream: an editable ``pip install`` of its worktree (``source``), or the
  wheel's package laid out as symlinks with the worktree's Python files copied over them
  (``wheel-overlay``).

Each environment records the hash of what it was built from (``.workbench-env.json``): the
packages and mode, the pin, the series' content, the build inputs (``setup.py``,
``pyproject.toml``...) or the overlaid files. Nothing is reinstalled while the hash matches.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.config import BuildMode, Recipe
from workbench.envs.device import detect
from workbench.envs.venv import (
    STAMP,
    built,
    digest,
    host_site_dirs,
    met_by_host,
    read_stamp,
    site_packages,
)
from workbench.errors import ProblemFound, UsageError
from workbench.fsutil import atomic_write_json
from workbench.gitops.engine import SeriesEngine
from workbench.gitops.git import last_line
from workbench.gitops.git import run as git
from workbench.paths import Workspace, cache_home
from workbench.vocabulary import BASELINE, PATCHED, SIDES, Log

BUILD_INPUTS = ("setup.py", "setup.cfg", "pyproject.toml", "CMakeLists.txt", "version.txt")
PIP_PROGRESS = ("Collecting", "Downloading", "Using cached", "Installing", "Successfully")


@dataclass
class SideEnv:
    side: str
    path: Path
    worktree: Path
    mode: str
    key: str
    rebuilt: bool
    seconds: float

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


class BuildFailed(ProblemFound):
    title = "build failed"


def glob_match(path: str, pattern: str) -> bool:
    """Match a slash path against a glob where ``**/`` is any number of folders, none included."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.fullmatch(regex, path) is not None


def _failed(command: str, output: str, details: str) -> BuildFailed:
    """A build step that exited non-zero: the command and the last line it printed."""
    return BuildFailed(
        f"`{command}` failed: {last_line(output)}", "see the log above", details=details
    )


class EnvBuilder:
    def __init__(
        self, ws: Workspace, recipe: Recipe, *, device: str | None = None, log: Log | None = None
    ):
        self.ws = ws
        self.recipe = recipe
        self.engine = SeriesEngine(ws, recipe)
        self.device = device or detect()
        self.log = log or (lambda msg: None)
        self.root = ws.home / "envs" / recipe.name

    # --- what to build ---------------------------------------------------------------------------

    def mode(self) -> BuildMode:
        mode = self.recipe.build_mode(self.device)
        missing = [v for v in mode.requires_env if not os.environ.get(v)]
        if missing and self.device != "cpu":
            fallback = self.recipe.build_mode("cpu")
            self.log(f"{mode.name} needs {', '.join(missing)}; using the {fallback.name} mode")
            return fallback
        if missing:
            raise UsageError(
                f"the {mode.name} build mode needs {', '.join(missing)}",
                "set it, or pick another mode in the recipe's [build.devices]",
            )
        return mode

    def changed_files(self) -> list[str]:
        """Files the patched side changes: the series, and unsaved work in the worktree."""
        status = self.engine.report.status(check_head=False)
        files = set(status.changed_files)
        base = status.worktree.base
        patched = self.engine.co.patched
        if base and self.engine.co.worktree_ok(patched):
            out = git(patched, "diff", "--name-only", "--no-renames", base).stdout
            files.update(out.splitlines())
        return sorted(files)

    def check_overlay(self, mode: BuildMode) -> None:
        """A wheel overlay only carries Python files: anything else needs a source build."""
        if mode.kind != "wheel-overlay":
            return
        outside = [
            f for f in self.changed_files() if not any(glob_match(f, g) for g in mode.overlay)
        ]
        if outside:
            shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
            source = [m for m in self.recipe.build_modes.values() if m.kind == "source"]
            raise UsageError(
                f"the series changes files the {mode.name} build cannot carry ({shown}): "
                f"only {', '.join(mode.overlay)} are laid over the released wheel",
                f"build it in the {source[0].name if source else 'source'} mode where there is a GPU "
                f"and the network (nox -s {self.recipe.name}_build on a GPU runner), or drop those "
                "changes",
            )

    def bench_env(self) -> dict[str, str]:
        """What the bench processes start with on this device: the recipe's fallbacks, such as
        the Triton interpreter on a CPU, so the caller's shell need not export them."""
        return self.recipe.bench_env(self.device, self.mode())

    def worktrees(self) -> dict[str, Path]:
        """Clone the upstream on first use (as ``workbench upstream fetch`` does), then make
        sure base is at the pin and patched is built from the series. Every command that works
        on the worktrees (build, tests select/run/map, bench run NAME, codegen) starts here."""
        co = self.engine.co
        if not co.exists() or co.default_head() is None:
            self.log(f"cloning {self.recipe.upstream.url} (first use)")
            co.fetch()
        series = self.engine.series()
        pin_sha = co.resolve_or_fetch(self.engine.pin(series).ref, "pin")
        co.ensure_base(pin_sha)
        state = self.engine.store.load()
        head = co.head(co.patched)
        stale = (
            head is not None
            and head == state.synced_head
            and (series.digest() != state.series_digest or state.base != pin_sha)
        )
        if head is None or stale:
            self.log("applying the series to the patched worktree")
            self.engine.apply()
        return {BASELINE: co.base, PATCHED: co.patched}

    # --- building --------------------------------------------------------------------------------

    def build(self, sides: tuple[str, ...] = SIDES) -> list[SideEnv]:
        mode = self.mode()
        trees = self.worktrees()
        self.check_overlay(mode)
        deps = self._deps(mode)
        series_digest = self.engine.series().digest()
        pin = self.engine.co.head(trees[BASELINE])
        out = []
        for side in sides:
            out.append(
                self._side(
                    side, mode, trees[side], deps, pin, series_digest if side == PATCHED else None
                )
            )
        return out

    def build_worktree(self, label: str, worktree: Path, folder: Path) -> SideEnv:
        """An environment built as a side's is, at ``folder``, from another worktree of the
        upstream (a step of the series): reused while what it is built from is the same."""
        mode = self.mode()
        deps = self._deps(mode)
        pin = self.engine.co.head(self.engine.co.base)
        return self._side(label, mode, worktree, deps, pin, None, path=folder)

    def _pip(
        self,
        python: Path,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        progress: bool = False,
    ) -> None:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "--disable-pip-version-check",
            *args,
        ]
        if progress:  # lines, not a bar: they go through the log to a terminal or a file
            self._run_showing_progress([*cmd, "--progress-bar=off"], env=env)
        else:
            self._run(cmd, env=env, cwd=cwd)

    def _run_showing_progress(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        """Run pip, passing on the lines that say how far it is (what it collects and downloads,
        with sizes, and what it installs): a 7 GB install is minutes long."""
        self.log(f"$ {' '.join(cmd)}")
        lines: list[str] = []
        with subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                text = line.strip()
                if text.startswith(PIP_PROGRESS):
                    self.log(f"  {text}")
        if proc.returncode:
            output = "".join(lines)
            raise _failed(" ".join(cmd), output, output)

    def _run(
        self,
        cmd: list[str] | str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        shell: bool = False,
    ) -> None:
        shown = cmd if isinstance(cmd, str) else " ".join(cmd)
        self.log(f"$ {shown}")
        res = subprocess.run(
            cmd,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            shell=shell,
            capture_output=True,
            text=True,
        )
        if res.returncode:
            raise _failed(shown, res.stderr or res.stdout, res.stdout + res.stderr)

    def _venv(self, path: Path, pth_dirs: list[str]) -> None:
        if path.exists():
            shutil.rmtree(path)
        self._run([sys.executable, "-m", "venv", "--without-pip", str(path)])
        site = site_packages(path)
        # Named to sort last: the side's own path entries (an editable worktree) come first.
        (site / "zz-workbench-deps.pth").write_text("\n".join(pth_dirs) + "\n")

    def deps_host_dirs(self, mode: BuildMode) -> list[str]:
        """The workbench interpreter's site dirs when it has one of the pinned requirements
        (then the deps environment lists them and is keyed by them), else none: the deps
        environment is then self-contained and the same for every workbench on the machine
        (``.venv``, each nox session's venv), so it exists once."""
        return host_site_dirs() if met_by_host(mode.packages) else []

    def deps_key(self, mode: BuildMode) -> str:
        return digest(
            "deps",
            sys.version,
            mode.packages,
            self.recipe.tests.packages,
            mode.kind,
            self.deps_host_dirs(mode),
        )

    def deps_path(self, mode: BuildMode) -> tuple[Path, str]:
        """Where the deps environment of ``mode`` lives in the shared cache, and the key its
        stamp holds once it is built."""
        key = self.deps_key(mode)
        return cache_home() / "deps" / f"{self.recipe.name}-{key[:16]}", key

    def _deps(self, mode: BuildMode) -> Path:
        packages = list(mode.packages) + list(self.recipe.tests.packages)
        if mode.kind == "source":
            packages += ["setuptools", "wheel"]
        path, key = self.deps_path(mode)
        if built(path, key):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f"{path.name}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.log(f"waiting for another workbench building {path}")
                fcntl.flock(lock, fcntl.LOCK_EX)
            if built(path, key):  # by the one we waited for
                return path
            t0 = time.perf_counter()
            self.log(f"building the shared deps environment {path} (once per machine)")
            self._venv(path, self.deps_host_dirs(mode))
            if packages:
                self._pip(path / "bin" / "python", "install", *packages, progress=True)
            atomic_write_json(
                path / STAMP,
                {"key": key, "packages": packages, "seconds": round(time.perf_counter() - t0, 1)},
            )
        return path

    def _side_key(
        self,
        side: str,
        mode: BuildMode,
        worktree: Path,
        deps: Path,
        pin: str | None,
        series_digest: str | None,
    ) -> str:
        if mode.kind == "source":
            inputs = {
                f: (worktree / f).read_bytes().hex() if (worktree / f).is_file() else None
                for f in BUILD_INPUTS
            }
            content = digest(inputs)
        else:
            files = self._overlay_files(worktree, mode)
            content = digest(
                {rel: hashlib.sha1(f.read_bytes()).hexdigest() for rel, f in files.items()}
            )
        return digest(
            side, mode, read_stamp(deps).get("key"), pin, series_digest, content, str(worktree)
        )

    def _side(
        self,
        side: str,
        mode: BuildMode,
        worktree: Path,
        deps: Path,
        pin: str | None,
        series_digest: str | None,
        path: Path | None = None,
    ) -> SideEnv:
        path = path or self.root / side
        key = self._side_key(side, mode, worktree, deps, pin, series_digest)
        if built(path, key):
            return SideEnv(side, path, worktree, mode.name, key, False, 0.0)
        t0 = time.perf_counter()
        self.log(f"building the {side} environment ({mode.name}) from {self.ws.relative(worktree)}")
        self._venv(path, [str(site_packages(deps)), *host_site_dirs()])
        python = path / "bin" / "python"
        if mode.kind == "source":
            env = {
                **mode.env,
                "VIRTUAL_ENV": str(path),
                "PATH": f"{path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            }
            for template in mode.install:
                cmd = template.replace("{worktree}", str(worktree))
                if cmd.startswith("pip "):
                    self._pip(python, *cmd.split()[1:], "--quiet", env=env, cwd=worktree)
                else:
                    self._run(cmd, env=env, cwd=worktree, shell=True)
        else:
            self._overlay(python, path, worktree, mode, deps)
        seconds = time.perf_counter() - t0
        atomic_write_json(
            path / STAMP,
            {
                "key": key,
                "mode": mode.name,
                "worktree": str(worktree),
                "seconds": round(seconds, 1),
            },
        )
        return SideEnv(side, path, worktree, mode.name, key, True, seconds)

    # --- wheel overlay ---------------------------------------------------------------------------

    def _overlay_files(self, worktree: Path, mode: BuildMode) -> dict[str, Path]:
        root = worktree / (mode.overlay_into or "")
        files: dict[str, Path] = {}
        for glob in mode.overlay:
            for f in worktree.glob(glob.replace("**/", "**/")):
                if f.is_file() and f.resolve().is_relative_to(root.resolve()):
                    rel = f.relative_to(root).as_posix()
                    files[rel] = f
        return dict(sorted(files.items()))

    def _overlay(
        self, python: Path, venv: Path, worktree: Path, mode: BuildMode, deps: Path
    ) -> None:
        package = Path(mode.overlay_into or "").name
        installed = None
        for site in (site_packages(deps), *map(Path, host_site_dirs())):
            if (site / package / "__init__.py").is_file():
                installed = site / package
                break
        if installed is None:
            raise BuildFailed(
                f"the {package} wheel is not installed in {self.ws.relative(deps)}",
                f"add it to packages of [build.modes.{mode.name}]",
            )
        target = site_packages(venv) / package
        # The wheel's files as symlinks (compiled libraries included), the worktree's .py on top.
        for src in installed.rglob("*"):
            if src.is_dir() or "__pycache__" in src.parts:
                continue
            dst = target / src.relative_to(installed)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
        for rel, src in self._overlay_files(worktree, mode).items():
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                dst.unlink()
            shutil.copy2(src, dst)


def bench_env_of_files(ws: Workspace, files: list[Path]) -> dict[str, str]:
    """``bench run --file``: the bench environment of each upstream whose bench folder holds
    one of ``files`` (``upstreams/NAME/benches/x.py`` runs with NAME's fallbacks, as under
    ``bench run NAME``); nothing for a file of no upstream."""
    from workbench.config import known_upstreams, load_recipe

    env: dict[str, str] = {}
    names = known_upstreams(ws)
    upstreams = ws.upstreams_dir.resolve()
    for f in files:
        path = Path(f).resolve()
        if not path.is_relative_to(upstreams):
            continue
        name = path.relative_to(upstreams).parts[0]
        if name not in names:
            continue
        recipe = load_recipe(ws, name)
        if path.parent == (upstreams / name / recipe.bench_folder).resolve():
            env.update(EnvBuilder(ws, recipe).bench_env())
    return env
