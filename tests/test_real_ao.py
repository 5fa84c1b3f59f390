"""Against a real pytorch/ao: only when a local mirror is given in WORKBENCH_AO_URL.

    WORKBENCH_AO_URL=/path/to/ao python -m pytest tests/test_real_ao.py

The whole loop on the real upstream: fetch at v0.18.0, build both sides python-only, break
`quantize_affine` in the patched worktree, and check that the selection holds
test/quantization/test_quant_primitives.py and that the run reports the regression.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git, write

# Read at import, before the autouse fixture clears WORKBENCH_* from the environment.
MIRROR = os.environ.get("WORKBENCH_AO_URL")

pytestmark = [
    pytest.mark.real_upstream,
    pytest.mark.skipif(not MIRROR, reason="set WORKBENCH_AO_URL to a local clone of pytorch/ao"),
]


def test_mutation_in_quantize_affine_is_caught(tmp_path: Path, monkeypatch, wb):
    root = tmp_path / "wb"
    shutil.copytree(
        REPO_ROOT / "upstreams" / "ao",
        root / "upstreams" / "ao",
        ignore=shutil.ignore_patterns("src", "base", "patched"),
    )
    write(root / "patches" / "ao" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_AO_URL", MIRROR)
    monkeypatch.setenv("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "ao").code == 0
    patched = root / "upstreams" / "ao" / "patched"
    target = patched / "torchao" / "quantization" / "quant_primitives.py"
    old = "_Round.apply(input * (1.0 / scale)) + zero_point, quant_min, quant_max"
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, old.replace("zero_point", "zero_point + 1")))
    git(patched, "commit", "-qam", "Break quantize_affine")
    selected = json.loads(wb("tests", "select", "ao", "--json").out)
    paths = [t["path"] for t in selected["tests"]]
    assert "test/quantization/test_quant_primitives.py" in paths
    res = wb("tests", "run", "ao", "--json", "--", "test/quantization/test_quant_primitives.py")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    assert doc["regressions"] and all(r["on_baseline"] == "passed" for r in doc["regressions"])
    assert doc["counts"]["passed"] >= 15
