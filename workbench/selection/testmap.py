"""Per-test fingerprints of an upstream's pin: which blocks of its code each test runs.

``workbench tests map NAME`` runs the upstream's tests once on the baseline side, in its
environment, with ``mapplugin.py`` loaded, and keeps per test node id the blocks (``blocks.py``)
that the test ran, with its outcome and time. A map belongs to one pin (the commit), one
environment (the Python and the versions of the packages that matter) and one device; it lives
beside the environments, ``.workbench/envs/NAME/maps/<commit>-<device>-<env>/``, one result
file per test file, so a map that is cut off keeps what finished and the next run goes on.

Selection (``select_by_map``) compares each changed file's blocks between the sides and picks
the node ids whose fingerprint holds a changed block; a changed block that no mapped test ran is
reported as not exercised on this device.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.envs.versions import package_versions
from workbench.fsutil import atomic_write_json
from workbench.selection import blocks as blk
from workbench.selection.run import config_args
from workbench.vocabulary import Log

SCHEMA = 1
PLUGIN = Path(__file__).resolve().parent / "mapplugin.py"
PLUGIN_NAME = "_workbench_testmap"


def environment(python: Path, packages: tuple[str, ...]) -> dict[str, str]:
    """What a map's environment is: the Python and the versions of the packages that matter."""
    return package_versions(python, ("python", *packages))


def env_hash(env: dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(env, sort_keys=True).encode()).hexdigest()[:8]


def maps_root(home: Path, name: str) -> Path:
    return home / "envs" / name / "maps"


def folder_for(home: Path, name: str, commit: str, device: str, env: dict[str, str]) -> Path:
    return maps_root(home, name) / f"{commit[:12]}-{device}-{env_hash(env)}"


def _slug(path: str) -> str:
    return path.replace("/", "__").replace(".py", "") + ".json"


# --- making a map ---------------------------------------------------------------------------------


@dataclass
class MapRun:
    folder: Path
    files: list[str]
    done_before: int
    returncode: int
    seconds: float


def make(
    folder: Path,
    *,
    python: Path,
    worktree: Path,
    test_root: str,
    test_files: list[str],
    meta: dict,
    env: dict[str, str],
    args: list[str],
    log: Log,
) -> MapRun:
    """Run the test files not yet mapped in ``folder`` under the plugin; resumable."""
    results = folder / "files"
    results.mkdir(parents=True, exist_ok=True)
    done = {f for f in test_files if (results / _slug(f)).is_file()}
    todo = [f for f in test_files if f not in done]
    meta_file = folder / "meta.json"
    previous = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    # Paths mapped before (a map made folder by folder) stay part of the map.
    asked = list(dict.fromkeys([*(previous.get("test_files") or []), *test_files]))
    atomic_write_json(
        meta_file,
        {
            **meta,
            "schema": SCHEMA,
            "started": previous.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "test_files": asked,
            "seconds": previous.get("seconds", 0.0),
        },
    )
    if not todo:
        return MapRun(folder, test_files, len(done), 0, 0.0)
    if done:
        log(f"resuming: {len(done)} of {len(test_files)} test file(s) already mapped")
    shutil.copyfile(PLUGIN, folder / f"{PLUGIN_NAME}.py")
    config = config_args(worktree, folder)
    cmd = [
        str(python),
        "-m",
        "pytest",
        *config,
        f"--rootdir={worktree}",
        "-p",
        PLUGIN_NAME,
        "-p",
        "no:cacheprovider",
        "--continue-on-collection-errors",
        "-q",
        *args,
        *todo,
    ]
    run_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p
        ),
        "WORKBENCH_MAP_ROOT": str(worktree),
        "WORKBENCH_MAP_TESTS": str(worktree / test_root),
        "WORKBENCH_MAP_OUT": str(results),
    }
    started = time.perf_counter()
    stop = _stop_on_sigterm()
    with (folder / "log").open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=worktree, env=run_env, stdout=fh, stderr=subprocess.STDOUT)
        shown = -1
        try:
            while proc.poll() is None:
                time.sleep(1.0)
                n = sum(1 for f in todo if (results / _slug(f)).is_file())
                if n != shown:
                    shown = n
                    elapsed = time.perf_counter() - started
                    log(f"mapped {len(done) + n}/{len(test_files)} test file(s), {elapsed:.0f} s")
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            stop()
            seconds = time.perf_counter() - started
            meta_now = json.loads(meta_file.read_text())
            meta_now["seconds"] = round(meta_now.get("seconds", 0.0) + seconds, 1)
            atomic_write_json(meta_file, meta_now)
    return MapRun(folder, test_files, len(done), proc.returncode, seconds)


ARCHIVE = "testmap.tar.gz"
"""The map inside a run folder, for a remote run to bring home."""


def pack(folder: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "meta.json", arcname="meta.json")
        tar.add(folder / "files", arcname="files")


def install(archive: Path, home: Path, name: str, folder_name: str) -> Path | None:
    """Unpack a map brought home from a runner beside the local ones; None if one is there."""
    target = maps_root(home, name) / folder_name
    if target.exists() or "/" in folder_name or folder_name.startswith("."):
        return None
    tmp = target.with_name(f".{folder_name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    os.replace(tmp, target)
    return target


def reusable(old: Path, changed: set[str], test_files: list[str]) -> list[str]:
    """Test files of an earlier map whose results still hold at a new pin: the file did not
    change, and none of its tests ran code in a file that changed (so every recorded line
    still points at the same code)."""
    keep = []
    wanted = set(test_files)
    for f in sorted((old / "files").glob("*.json")):
        try:
            doc = json.loads(f.read_text())
        except ValueError:
            continue
        file = doc["file"]
        if file not in wanted or file in changed:
            continue
        touched = {rel for t in doc["tests"].values() for rel, _ in t["code"]}
        if not touched & changed:
            keep.append(file)
    return keep


def seed(old: Path, new: Path, files: list[str]) -> None:
    """Start a map at ``new`` with the results of ``files`` from the map at ``old``."""
    (new / "files").mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(old / "files" / _slug(file), new / "files" / _slug(file))


def maps(home: Path, name: str) -> list[tuple[Path, dict]]:
    """Every readable map of an upstream: its folder and its ``meta.json``."""
    root = maps_root(home, name)
    found = []
    for meta_file in sorted(root.glob("*/meta.json")) if root.is_dir() else []:
        try:
            found.append((meta_file.parent, json.loads(meta_file.read_text())))
        except ValueError:
            continue
    return found


def newest_other(home: Path, name: str, device: str, env: dict, but: Path) -> Path | None:
    """The newest map of this upstream, device and environment other than ``but``."""
    same = [
        (meta.get("started") or "", folder)
        for folder, meta in maps(home, name)
        if folder != but and meta.get("device") == device and meta.get("environment") == env
    ]
    return max(same)[1] if same else None


def _stop_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into SystemExit while a map runs, so that pytest is stopped with it and
    the time spent is recorded; returns what puts the old handler back."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        old = signal.signal(signal.SIGTERM, leave)
    except ValueError:  # not the main thread: nothing to do
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGTERM, old)

    return restore


# --- reading a map --------------------------------------------------------------------------------


@dataclass
class TestMap:
    folder: Path
    meta: dict
    tests: dict[str, dict] = field(default_factory=dict)
    """node id → {"outcome", "seconds", "blocks": set of (file, qualname)}."""
    by_block: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    mapped_files: set[str] = field(default_factory=set)
    """Test files with results (a map cut off half-way has some)."""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return set(self.meta.get("test_files") or []) <= self.mapped_files

    checksums: dict[str, dict[str, str]] = field(default_factory=dict)
    """file → block → checksum, of the blocks some test ran, at the map's pin."""

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in (self.folder / "files").glob("*.json"))


def load(folder: Path, worktree: Path) -> TestMap:
    """Read a map, turning each recorded code object (file, first line) into its block."""
    meta = json.loads((folder / "meta.json").read_text())
    m = TestMap(folder, meta)
    indexes: dict[str, blk.LineIndex] = {}
    found_blocks: dict[str, dict[str, blk.Block]] = {}
    for f in sorted((folder / "files").glob("*.json")):
        try:
            doc = json.loads(f.read_text())
        except ValueError:
            continue  # a result being written when the map was cut off
        m.mapped_files.add(doc["file"])
        if doc.get("errors"):
            m.errors[doc["file"]] = doc["errors"]
        for nodeid, t in doc["tests"].items():
            found: set[tuple[str, str]] = set()
            for rel, line in t["code"]:
                index = indexes.get(rel)
                if index is None:
                    try:
                        source = (worktree / rel).read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        source = ""
                    found_blocks[rel] = blk.blocks(source)
                    index = indexes[rel] = blk.LineIndex(found_blocks[rel])
                found.add((rel, index.block_at(line)))
            m.tests[nodeid] = {"outcome": t["outcome"], "seconds": t["seconds"], "blocks": found}
            for b in found:
                m.by_block.setdefault(b, set()).add(nodeid)
    for rel, qual in m.by_block:
        block = found_blocks[rel].get(qual)
        if block is not None:
            m.checksums.setdefault(rel, {})[qual] = block.checksum
    return m


@dataclass
class Found:
    """The map that fits this pin, environment and device, or why none does."""

    map: TestMap | None
    note: str | None


def find(home: Path, name: str, worktree: Path, commit: str, device: str, env: dict) -> Found:
    folder = folder_for(home, name, commit, device, env)
    if (folder / "meta.json").is_file():
        return Found(load(folder, worktree), None)
    others = [meta for _, meta in maps(home, name) if meta.get("device") == device]
    if not others:
        return Found(None, None)
    newest = max(others, key=lambda m: m.get("started") or "")
    if newest.get("commit") != commit:
        why = f"made at {str(newest.get('commit'))[:12]}, the pin is now {commit[:12]}"
    else:
        theirs = newest.get("environment") or {}
        diff = [
            f"{k} {theirs.get(k)} → {env.get(k)}"
            for k in sorted(set(theirs) | set(env))
            if theirs.get(k) != env.get(k)
        ]
        why = "made in another environment: " + ", ".join(diff)
    return Found(
        None,
        f"the test map is stale ({why}): selection falls back to whole files; "
        f"make a new one with `workbench tests map {name}`",
    )


def other_devices(home: Path, name: str, commit: str, device: str) -> list[Path]:
    """Maps of this pin made on other devices (a GPU runner's, brought home)."""
    return [
        folder
        for folder, meta in maps(home, name)
        if meta.get("commit") == commit and meta.get("device") != device
    ]


# --- selecting with a map -------------------------------------------------------------------------


def describe(m: TestMap) -> dict:
    """What ``tests.json`` and the CLI say about the map used."""
    return {
        "folder": m.folder.name,
        "commit": m.meta.get("commit"),
        "device": m.meta.get("device"),
        "environment": m.meta.get("environment"),
        "tests": len(m.tests),
        "test_files": len(m.mapped_files),
        "complete": m.complete,
    }
