"""The wheel, as pipx or `pip install .` would install it: data files included, dashboard opens."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

OPEN_DASHBOARD = """\
import asyncio, sys
from pathlib import Path
import workbench
from workbench.paths import Workspace
from workbench.tui.app import make_app

# The installed copy, not the checkout: the test is about what the wheel holds.
assert Path(workbench.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), workbench.__file__


async def main():
    app = make_app(Workspace(Path(sys.argv[1])), check_head=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print("opened", type(app.screen).__name__, len(app.stylesheet.rules) > 0)


asyncio.run(main())
"""


@pytest.mark.slow
def test_wheel_ships_its_data_and_the_dashboard_opens_from_it(tmp_path: Path):
    # Built from a copy of what the wheel is made of: a build/ folder left in the checkout
    # would otherwise lend the wheel files that the package configuration forgets.
    src = tmp_path / "src"
    shutil.copytree(
        REPO_ROOT / "workbench", src / "workbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(src), "--no-deps"),
            *("--no-build-isolation", "--quiet", "-w", str(dist)),
        ],
        check=True,
        cwd=tmp_path,
    )
    [wheel] = dist.glob("workbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "workbench/tui/app.tcss" in names
    assert "workbench/bench/worker.py" in names  # run as a script by the bench runner
    assert not any(n.startswith("tests/") for n in names)

    # A fresh venv that sees this environment's packages (textual, PyGithub, ...) but not the
    # checkout: this environment's site folders go on its path through a .pth file, which adds
    # the folders without running their own .pth files (so not the editable workbench).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    venv_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(venv_site, "outer_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        cwd=tmp_path,
    )
    ws = tmp_path / "ws"
    for recipe in (REPO_ROOT / "upstreams").glob("*/recipe.toml"):
        dest = ws / "upstreams" / recipe.parent.name / "recipe.toml"
        dest.parent.mkdir(parents=True)
        shutil.copy(recipe, dest)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_HOME"] = str(tmp_path / "home")
    env.pop("PYTHONPATH", None)
    res = subprocess.run(
        [str(py), "-c", OPEN_DASHBOARD, str(ws)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "opened" in res.stdout and res.stdout.strip().endswith("True")
