"""nox sessions: the project's own ``tests``, ``lint`` and ``typecheck``; five per recipe.

For every ``upstreams/<name>/recipe.toml``: ``<name>_build`` (baseline and patched
environments), ``<name>_tests`` (the tests that matter for the series, on both sides),
``<name>_bench`` (before/after microbenchmarks), ``<name>_codegen`` (the Triton kernels
compiled for GPU targets, before/after, without a GPU) and ``<name>_map`` (which code each test
runs, on the pin, for test selection). A new recipe folder gives new sessions; the
sessions only call the ``workbench`` command, which holds the logic.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]
# The upstream sessions keep their venv between runs: a re-run with nothing changed must start
# its benchmarks within seconds (see docs/benchmarks.md).
nox.options.reuse_venv = "yes"
# `nox -s tests typecheck` runs both at once (the sessions that allow it; the others one at a
# time): the type check's install and mypy fit beside the tests. Each session's output comes
# when it ends; `-j 1` shows it as it runs.
nox.options.parallel = "auto"

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


@nox.session(reuse_venv=False, allow_parallel=True)
def tests(session: nox.Session) -> None:
    """Run the workbench's test suite (no network, no GPU needed), in parallel (pyproject's
    pytest addopts)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(reuse_venv=False)
def lint(session: nox.Session) -> None:
    """Check style with ruff (lint and format)."""
    session.install(*EXTRAS["lint"])
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[=<>!~;]", requirement, maxsplit=1)[0]


@nox.session(reuse_venv=False, allow_parallel=True)
def typecheck(session: nox.Session) -> None:
    """Type-check the library with mypy."""
    # What mypy reads types from (it reads the workbench itself from workbench/, so it is not
    # installed): the dependencies, the pinned torch and textual of the test extra, pytest (the
    # test-map plugin) and matplotlib. Triton ships no types: mypy is told to skip it.
    typed = [r for r in EXTRAS["test"] if requirement_name(r) in {"torch", "textual", "pytest"}]
    session.install(*PYPROJECT["project"]["dependencies"], *EXTRAS["lint"], *EXTRAS["plot"], *typed)
    session.run("mypy", *session.posargs)


def install_workbench(session: nox.Session) -> None:
    """Install the workbench, with what draws bench.png (the ``plot`` extra), into the
    session's venv, unless the same version already is."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = Path(session.virtualenv.location) / ".workbench-installed"
    if stamp.exists() and stamp.read_text() == key:
        return
    session.install("-e", ".[plot]")
    stamp.write_text(key)


def upstream_sessions(name: str) -> None:
    def build(session: nox.Session) -> None:
        install_workbench(session)
        session.run("workbench", "build", name, *session.posargs)

    def run_tests(session: nox.Session) -> None:
        install_workbench(session)
        # --per-patch is the workbench's own flag; the other arguments go to pytest.
        own = [a for a in session.posargs if a.split("=", 1)[0] == "--per-patch"]
        rest = [a for a in session.posargs if a not in own]
        extra = ["--", *rest] if rest else []
        session.run("workbench", "tests", "run", name, *own, *extra)

    def bench(session: nox.Session) -> None:
        install_workbench(session)
        session.run("workbench", "bench", "run", name, *session.posargs)

    def codegen(session: nox.Session) -> None:
        install_workbench(session)
        session.run("workbench", "codegen", name, *session.posargs)

    def test_map(session: nox.Session) -> None:
        install_workbench(session)
        extra = ["--", *session.posargs] if session.posargs else []
        session.run("workbench", "tests", "map", name, *extra)

    build.__doc__ = f"Build {name}'s baseline (pin) and patched (pin + series) environments."
    run_tests.__doc__ = f"Run the {name} tests the series touches; failures re-run on baseline."
    bench.__doc__ = f"Benchmark {name}'s patched side against its baseline (bench.json, PNG)."
    codegen.__doc__ = (
        f"Compile the {name} Triton kernels the series touches, before/after, per GPU target."
    )
    test_map.__doc__ = f"Map which {name} code each test runs, on the pin (for test selection)."
    kinds = (
        (build, "build"),
        (run_tests, "tests"),
        (bench, "bench"),
        (codegen, "codegen"),
        (test_map, "map"),
    )
    for func, kind in kinds:
        nox.session(name=f"{name}_{kind}", default=False, tags=[name, kind])(func)


for recipe in sorted((ROOT / "upstreams").glob("*/recipe.toml")):
    upstream_sessions(recipe.parent.name)
