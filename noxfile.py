"""nox sessions: the project's own tests and lint.

Per-upstream sessions (``<name>_build``, ``<name>_tests``, ``<name>_bench``) are generated from
``upstreams/*/recipe.toml``.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the workbench's test suite (no network, no GPU needed)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff (lint and format)."""
    session.install(*EXTRAS["lint"])
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")
