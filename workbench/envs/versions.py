"""Which versions of the packages that matter an environment has, for result files and drafts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

# Distribution names whose versions reviewers ask about.
PACKAGES = ("torch", "triton", "torchao", "torch-xla", "numpy")

_PROBE = """
import importlib.metadata as m, json, platform, sys
out = {}
for name in sys.argv[1:]:
    if name == "python":  # the interpreter itself
        out[name] = platform.python_version()
        continue
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def package_versions(python: Path | str, names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """The installed versions of ``names`` in the environment of ``python`` (metadata only: no
    import, so it takes milliseconds even for torch); the name ``python`` gives the
    interpreter's own version. Empty if the interpreter cannot run."""
    try:
        proc = subprocess.run(
            [str(python), "-c", _PROBE, *names], capture_output=True, text=True, timeout=60
        )
        return json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
