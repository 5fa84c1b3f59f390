"""Bring a run's artifact home: download, check, then one rename into the run index.

Everything happens in a hidden folder next to the target (the run index skips dot-folders), and
only a folder that holds a result file, with ``remote.json`` written, is renamed into
``.workbench/runs/<name>/<run-id>/``. An existing run folder is never replaced or touched: a
failed or repeated fetch leaves what is there as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from workbench.fsutil import atomic_write_json
from workbench.paths import Workspace
from workbench.remote.actions import Actions, Run
from workbench.remote.errors import ArtifactGone, RunFailed
from workbench.remote.records import RemoteRun
from workbench.remote.workflow import DEVICE_FILE, LOG_FILE, artifact_name
from workbench.runs import REMOTE_FILE, RESULT_FILES, now_iso

SCHEMA = 1


def target_folder(ws: Workspace, rec: RemoteRun) -> Path:
    return ws.runs(rec.upstream) / str(rec.run_id)


def _unzip(archive: Path, dest: Path) -> None:
    """Extract, refusing entries that would land outside ``dest`` (absolute or ``..`` paths)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.filename.startswith("/") or ".." in parts:
                raise ArtifactGone(
                    f"the artifact holds a path outside its folder: {info.filename!r}",
                    "nothing was unpacked; check the workflow on the fork",
                )
        zf.extractall(dest)


def _result_folder(unpacked: Path, session: str) -> Path | None:
    """The folder with this session's result file; the newest if a runner left several."""
    wanted = RESULT_FILES[session]
    found = sorted(p.parent for p in unpacked.rglob(wanted) if p.is_file())
    return found[-1] if found else None


def _device(unpacked: Path, doc: dict) -> str:
    marker = unpacked / DEVICE_FILE
    if marker.is_file():
        text = marker.read_text(errors="replace").strip().splitlines()
        if text and text[0].strip():
            return text[0].strip()
    return str(doc.get("device") or "unknown")


def _install_map(ws: Workspace, upstream: str, folder: Path, doc: dict) -> None:
    """A runner's test map goes beside the local ones, where selection finds it by device."""
    from workbench.selection import testmap

    archive = folder / testmap.ARCHIVE
    if archive.is_file() and isinstance(doc.get("map_folder"), str):
        testmap.install(archive, ws.home, upstream, doc["map_folder"])


def bring_home(actions: Actions, ws: Workspace, rec: RemoteRun, run: Run) -> Path:
    """Download and unpack the run's artifact into the run index; returns the run folder."""
    assert rec.run_id is not None
    target = target_folder(ws, rec)
    if target.exists():
        return target  # brought home before: never replaced
    name = artifact_name(rec.upstream, rec.session, rec.run_id)
    artifact = next((a for a in actions.artifacts(rec.run_id) if a.name == name), None)
    if artifact is None:
        raise ArtifactGone(
            f"run {rec.run_id} has no artifact {name} ({run.conclusion or run.status}); "
            "it stopped before the upload step",
            f"see its log: {run.html_url or rec.html_url}",
        )
    if artifact.expired:
        raise ArtifactGone(
            f"artifact {name} of run {rec.run_id} has expired",
            f"dispatch again: workbench remote run {rec.upstream} --session {rec.session} --wait",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{rec.run_id}.", dir=target.parent))
    try:
        archive = work / "artifact.zip"
        actions.download(artifact, archive)
        unpacked = work / "unpacked"
        try:
            _unzip(archive, unpacked)
        except zipfile.BadZipFile:
            raise ArtifactGone(
                f"artifact {name} is not a readable zip", "run `workbench remote fetch` again"
            ) from None
        found = _result_folder(unpacked, rec.session)
        if found is None:
            raise RunFailed(
                f"run {rec.run_id} ({run.conclusion}) left no {RESULT_FILES[rec.session]}: "
                f"nox -s {rec.upstream}_{rec.session} failed before writing results",
                f"see its log: {run.html_url or rec.html_url}",
            )
        try:
            doc = json.loads((found / RESULT_FILES[rec.session]).read_text())
        except ValueError:
            raise RunFailed(
                f"{RESULT_FILES[rec.session]} of run {rec.run_id} is not JSON",
                f"see its log: {run.html_url or rec.html_url}",
            ) from None
        for extra in (DEVICE_FILE, LOG_FILE):
            if (unpacked / extra).is_file() and not (found / extra).exists():
                shutil.move(str(unpacked / extra), found / extra)
        device = _device(found, doc)
        atomic_write_json(
            found / REMOTE_FILE,
            {
                "schema": SCHEMA,
                "repo": rec.repo,
                "run_id": rec.run_id,
                "html_url": run.html_url or rec.html_url,
                "conclusion": run.conclusion,
                "runner_labels": rec.runner_labels,
                "device": device,
                "dispatched_ref": {"branch": rec.branch, "commit": rec.commit},
                "series_digest": rec.series_digest,
                "session": rec.session,
                "artifact": name,
                "runner_run_id": found.name if found != unpacked else None,
                "fetched_at": now_iso(),
            },
        )
        if target.exists():
            return target  # another fetch won the race; keep its folder
        os.rename(found, target)
        rec.device = device
        if rec.session == "map":
            _install_map(ws, rec.upstream, target, doc)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
