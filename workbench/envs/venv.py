"""A virtual environment on disk: the stamp saying what it was built from, and what it shares.

An environment is built to the end when its stamp (``.workbench-env.json``, written last) holds
the key of what it was built from; nothing is reinstalled while the key matches. Where the
interpreter running the workbench already has a pinned requirement, an environment lists that
interpreter's site-packages instead of installing it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import sysconfig
from pathlib import Path

STAMP = ".workbench-env.json"
"""Written last into an environment: the key of what it was built from, and how."""


def digest(*parts: object) -> str:
    """A short hash of ``parts`` (as JSON): the key of what an environment is built from."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def read_stamp(path: Path) -> dict:
    """The stamp of the environment at ``path`` ({} where there is none yet)."""
    try:
        return json.loads((path / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def built(path: Path, key: str) -> bool:
    """Whether the environment at ``path`` was built, to the end, from what ``key`` hashes."""
    return read_stamp(path).get("key") == key


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (links not followed: an overlay's symlinks are free)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            total += st.st_size
    return total


def site_packages(venv: Path) -> Path:
    v = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / v / "site-packages"


def host_site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


PINNED_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;,]+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def met_by_host(packages: list[str] | tuple[str, ...]) -> list[str]:
    """The pinned requirements (``name==version``) that the interpreter running the workbench
    already has: only then is its site-packages worth sharing (the same torch, not twice)."""
    from importlib.metadata import distributions

    have = {
        _canonical(d.metadata["Name"] or ""): d.version
        for d in distributions(path=host_site_dirs())
    }
    met = []
    for req in packages:
        m = PINNED_RE.match(req.strip())
        if m and have.get(_canonical(m.group(1))) == m.group(2):
            met.append(req)
    return met
