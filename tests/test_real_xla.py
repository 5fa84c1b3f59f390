"""Against a real pytorch/xla: only when a local mirror is given in WORKBENCH_XLA_URL.

    WORKBENCH_XLA_URL=/path/to/xla python -m pytest tests/test_real_xla.py

The xla path on the real upstream at v2.9.0: the 7 GB environment from the per-user cache (made
once per machine; the first run of this test makes it), a patch that reverses a placeholder's
shape caught as regressions by the per-file runner, and a patch that makes every
``torch_xla.sync()`` walk the stack called slower by a benchmark that times execution.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git, write
from workbench.paths import cache_home

# Read at import, before the autouse fixture clears WORKBENCH_* and points the cache elsewhere:
# the environment is the machine's shared one, not a 7 GB copy per test run.
MIRROR = os.environ.get("WORKBENCH_XLA_URL")
CACHE = str(cache_home())

pytestmark = [
    pytest.mark.real_upstream,
    pytest.mark.skipif(not MIRROR, reason="set WORKBENCH_XLA_URL to a local clone of pytorch/xla"),
]


def _patch(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, path
    path.write_text(text.replace(old, new))


def test_a_breaking_and_a_slowing_patch_on_real_xla(tmp_path: Path, monkeypatch, wb):
    root = tmp_path / "wb"
    shutil.copytree(
        REPO_ROOT / "upstreams" / "xla",
        root / "upstreams" / "xla",
        ignore=shutil.ignore_patterns("src", "base", "patched"),
    )
    write(root / "patches" / "xla" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_XLA_URL", MIRROR)
    monkeypatch.setenv("WORKBENCH_CACHE", CACHE)
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "xla").code == 0
    patched = root / "upstreams" / "xla" / "patched"
    _patch(
        patched / "torch_xla" / "core" / "xla_builder.py",
        "shape = mkshape(dtype, shape)\n  return torch_xla._XLAC._xla_create_placeholder_tensor",
        "shape = mkshape(dtype, list(shape)[::-1])\n"
        "  return torch_xla._XLAC._xla_create_placeholder_tensor",
    )
    git(patched, "commit", "-qam", "Placeholders: reverse the shape")
    assert wb("patches", "refresh", "xla").code == 0

    res = wb("tests", "run", "xla", "--json", "--", "test/test_placeholder.py")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    ids = sorted(r["id"] for r in doc["regressions"])
    assert "test/test_placeholder.py::TestPlaceholder::test_create_placeholder" in ids
    assert all(r["on_baseline"] == "passed" for r in doc["regressions"])
    assert doc["reproduce"].startswith("PJRT_DEVICE=CPU CPU_NUM_DEVICES=1 PYTHONPATH=test python")

    _patch(
        patched / "torch_xla" / "torch_xla.py",
        "  if xu.getenv_as('XLA_EMIT_STEPLOG', bool, False):\n",
        "  import inspect\n  inspect.stack()\n  if xu.getenv_as('XLA_EMIT_STEPLOG', bool, False):\n",
    )
    git(patched, "commit", "-qam", "Steplog: walk the stack")
    assert wb("patches", "refresh", "xla").code == 0
    res = wb("bench", "run", "xla", "--json", "--only", "op_chain[n=4096]", "--budget", "3")
    assert res.code == 0, res.err
    [case] = json.loads(res.out)["cases"]
    assert case["verdict"] == "slower", (case["ratio"], case["ci"], case["processes"])
