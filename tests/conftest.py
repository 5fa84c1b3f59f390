"""Shared fixtures: an isolated git environment, a small synthetic upstream, a workspace."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench import cli
from workbench.bench import cli as bench_cli

REPO_ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str, check: bool = True) -> str:
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and res.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {res.stderr}")
    return res.stdout.strip()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build_wheel(project: Path, out: Path, pattern: str) -> Path:
    """The "released wheel" of a small upstream: ``pip wheel`` of ``project`` (no download)."""
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "-w", str(out), str(project)],
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob(pattern)
    return wheel


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): two workers per core. The tests spend much of their
    time waiting on subprocesses (git, pip, nox, torch), so a core has work while one waits."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow first, the timed ones last, each in their order. On parallel
    workers (which take one test at a time: pyproject's addopts) the long ones start at once
    and the quick ones fill in beside them; a timed test, which runs alone, waits for no long
    one at the end."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("timed") is not None,
            item.get_closest_marker("slow") is None,
        )
    )


@pytest.fixture(autouse=True)
def timed_alone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Under pytest-xdist, a test marked ``timed`` runs while no other test does (its verdict
    depends on the CPU it gets); the others run side by side. A readers-writer lock on a file
    of this run's temporary folder, which its workers share: every test holds it shared, a
    timed one alone; a timed test waiting at the turnstile lets no new test start."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    run_folder = tmp_path_factory.getbasetemp().parent
    alone = request.node.get_closest_marker("timed") is not None
    with (
        open(run_folder / "timed.turnstile", "a") as turnstile,
        open(run_folder / "timed.lock", "a") as lock,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No user git config, a fixed identity, no WORKBENCH_* settings from the caller."""
    cfg = tmp_path_factory.mktemp("gitcfg") / "gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "Ada Contributor")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "ada@example.com")
    for key in list(os.environ):
        if key.startswith("WORKBENCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


UPSTREAM_FILES = {
    "README.md": "# demo upstream\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(12)),
    "pkg/util.py": "VALUE = 1\n",
    "test/test_mod.py": "from pkg.mod import f1\n\n\ndef test_f1():\n    assert f1(1) == 2\n",
}


@dataclass
class Upstream:
    path: Path

    def commit(self, files: dict[str, str | None], message: str) -> str:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                git(self.path, "rm", "-q", name)
            else:
                write(target, text)
                git(self.path, "add", name)
        git(self.path, "commit", "-q", "-m", message)
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """A small upstream repo: a tagged release v1.0 and a later commit on main."""
    path = tmp_path / "upstream"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    up = Upstream(path)
    up.commit(UPSTREAM_FILES, "Initial import")
    git(path, "tag", "v1.0")
    up.commit({"pkg/util.py": "VALUE = 1\nOTHER = 2\n"}, "Add OTHER")
    return up


EDITABLE_INSTALL = (
    "pip install -e {worktree} --no-build-isolation --config-settings editable_mode=compat"
)


def editable_install(packages: list[str]) -> dict[str, object]:
    """A ``source`` build mode: the packages, then the worktree installed editable."""
    return {
        "kind": "source",
        "about": "editable install of the worktree",
        "packages": packages,
        "install": [EDITABLE_INSTALL],
    }


def wheel_overlay(package: str, packages: list[str], about: str) -> dict[str, object]:
    """A ``wheel-overlay`` build mode: ``packages`` (the released wheel first), then the
    worktree's ``<package>/**/*.py`` laid over the installed ``package``."""
    return {
        "kind": "wheel-overlay",
        "about": about,
        "packages": packages,
        "overlay_into": package,
        "overlay": [f"{package}/**/*.py"],
    }


def toml_value(value: object) -> str:
    """``value`` as TOML: strings, lists and inline tables (JSON's string escapes are TOML's)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def small_workspace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    recipe: str | None = None,
) -> Path:
    """A workbench checkout for a small upstream ``calc``: ``files`` in one commit, tagged v1.0;
    its ``recipe`` (default: an editable install); an empty series; the checkout made current
    (``WORKBENCH_ROOT`` and the working directory). The caller fetches it."""
    up = tmp_path / "calc-upstream"
    for name, text in files.items():
        write(up / name, text)
    git(up, "init", "-q", "-b", "main")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "calc 1.0")
    git(up, "tag", "v1.0")
    root = tmp_path / "wb"
    if recipe is None:
        recipe = recipe_toml("calc", up.as_posix(), build=editable_install([]))
    write(root / "upstreams" / "calc" / "recipe.toml", recipe.replace("{url}", up.as_posix()))
    write(root / "patches" / "calc" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.chdir(root)
    return root


def recipe_toml(
    name: str,
    url: str,
    *,
    build: dict[str, object],
    mode: str = "source",
    runner: str = "pytest",
    test_packages: list[str] | None = None,
    tests_map: dict[str, list[str]] | None = None,
    tests_cpu: dict[str, object] | None = None,
    bench_cpu: dict[str, object] | None = None,
    codegen: list[str] | None = None,
    newcomer: list[str] | None = None,
) -> str:
    """The ``recipe.toml`` of a small upstream ``example/<name>`` at ``url``, pinned at v1.0.

    One CPU build ``mode`` (its table ``build``: ``editable_install`` or ``wheel_overlay``);
    tests under ``test/`` run by ``runner`` (with ``test_packages``); ``tests_map`` maps a
    source pattern to its tests; ``tests_cpu`` and ``bench_cpu`` are the CPU device's tables;
    ``codegen`` the GPU targets; ``newcomer`` the newcomer labels. Each test's recipe says
    only how it differs; the text keeps one layout (tests edit it by string replacement).
    """
    tests: dict[str, object] = {"root": "test", "runner": runner}
    if test_packages is not None:
        tests["packages"] = test_packages
    tables: list[tuple[str, dict[str, object] | None]] = [
        (
            "[upstream]",
            {"repo": f"example/{name}", "url": url, "default_branch": "main", "pin": "v1.0"},
        ),
        ("[build]", {"devices": {"cpu": mode}}),
        (f"[build.modes.{mode}]", build),
        ("[tests]", tests),
        *(("[[tests.map]]", {"source": s, "tests": t}) for s, t in (tests_map or {}).items()),
        ("[tests.devices.cpu]", tests_cpu),
        ("[bench.devices.cpu]", bench_cpu),
        ("[codegen]", {"targets": codegen} if codegen is not None else None),
        ("[pr]", {"format": "plain"}),
        ("[labels]", {"newcomer": newcomer or []}),
    ]
    return "\n".join(
        header + "\n" + "".join(f"{key} = {toml_value(v)}\n" for key, v in table.items())
        for header, table in tables
        if table is not None
    )


def demo_recipe(url: str) -> str:
    """The ``demo`` recipe of the ``workspace`` fixture, for the upstream at ``url``."""
    return recipe_toml(
        "demo",
        url,
        mode="plain",
        build={
            "kind": "source",
            "about": "pip install the worktree",
            "install": ["pip install -e {worktree}"],
        },
        tests_map={"pkg/{x}": ["test/test_{x}.py"]},
        newcomer=["good first issue"],
    )


# The demo recipe as a ``str.format`` template of its url, for tests that format it themselves.
RECIPE = demo_recipe("{url}").replace("{", "{{").replace("}", "}}").replace("{{url}}", "{url}")


@dataclass
class Workspace:
    root: Path
    upstream: Upstream

    @property
    def patches(self) -> Path:
        return self.root / "patches" / "demo"

    @property
    def patched(self) -> Path:
        return self.root / "upstreams" / "demo" / "patched"

    @property
    def base(self) -> Path:
        return self.root / "upstreams" / "demo" / "base"

    @property
    def src(self) -> Path:
        return self.root / "upstreams" / "demo" / "src"

    def commit_patched(self, files: dict[str, str | None], message: str) -> str:
        return Upstream(self.patched).commit(files, message)

    def series(self) -> list[str]:
        lines = (self.patches / "series").read_text().splitlines()
        return [ln for ln in lines if ln.strip() and not ln.startswith("#")]

    def snapshot(self) -> dict[str, bytes]:
        """Every file under patches/demo, to prove a command left it untouched."""
        return {p.name: p.read_bytes() for p in sorted(self.patches.iterdir()) if p.is_file()}


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def rc(self) -> int:
        return self.code

    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture
def workspace(tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A workbench checkout (its own git repo) with one recipe, ``demo``, for ``upstream``."""
    root = tmp_path / "wb"
    write(root / "upstreams" / "demo" / "recipe.toml", demo_recipe(upstream.path.as_posix()))
    write(root / "patches" / "demo" / "series", "# demo series\n")
    shutil.copy(REPO_ROOT / ".gitignore", root / ".gitignore")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "workbench")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.chdir(root)
    return Workspace(root, upstream)


def run_cli(*args: str) -> Run:
    """Run the ``workbench`` CLI in-process and capture what it prints."""
    from workbench.github import cli as github_cli
    from workbench.pr import cli as draft_cli

    out, err = io.StringIO(), io.StringIO()
    consoles = [cli.out, cli.err, bench_cli.out, bench_cli.err, github_cli.out, github_cli.err]
    consoles += [draft_cli.out, draft_cli.err]
    with redirect_stdout(out), redirect_stderr(err):
        for console in consoles:
            console.file = err if console.stderr else out
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        finally:
            for console in consoles:
                console.file = None  # back to following sys.stdout / sys.stderr
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def wb() -> Callable[..., Run]:
    return run_cli


@pytest.fixture
def fetched(workspace: Workspace, wb) -> Workspace:
    res = wb("upstream", "fetch", "demo")
    assert res.code == 0, res.err
    return workspace
