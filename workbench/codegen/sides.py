"""Each side's two processes, in that side's environment: the recorder and the compiler.

The recorder (``recorder.py``) runs the bench cases under ``TRITON_INTERPRET=1`` and writes the
launches it saw; the compiler (``compiler.py``) compiles them for the targets, started in the
background so that one side compiles while the other records. Both share a Triton cache under
the run's cache folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ProblemFound, UsageError

HERE = Path(__file__).resolve().parent
RECORDER = HERE / "recorder.py"
COMPILER = HERE / "compiler.py"


class CodegenFailed(ProblemFound):
    title = "codegen failed"


@dataclass
class Side:
    label: str
    python: str
    worktree: Path
    env: dict[str, str]


def _tail(text: str, n: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise UsageError(
            f"cannot start {cmd[0]}: {exc.strerror}", "rebuild with nox -s NAME_build"
        ) from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CodegenFailed(
            f"{what} exited {proc.returncode}: {last}", details=_tail(proc.stderr, 30)
        )
    return proc


def side_env(side: Side, cache: Path) -> dict[str, str]:
    env = {**os.environ, **side.env}
    env["TRITON_CACHE_DIR"] = str(cache / "triton")
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def record(
    side: Side, files: list[Path], out: Path, cache: Path, replay: Path | None, only: str | None
) -> dict:
    env = {**side_env(side, cache), "TRITON_INTERPRET": "1"}
    cmd = [side.python, str(RECORDER), str(out), *map(str, files)]
    if replay:
        cmd += ["--replay", str(replay)]
    if only:
        cmd += ["--only", only]
    _run(cmd, env, f"the {side.label} side's recorder")
    return json.loads((out / "launches.json").read_text())


def compile_jobs(launches: dict, targets: list[str]) -> list[dict]:
    jobs = []
    for v in launches["variants"]:
        jobs.append(
            {
                "ref": v["key"],
                "kernel": v["kernel"],
                "bench_file": v.get("bench_file"),
                "case": v.get("case"),
                "args": v["args"],
                "kwargs": v["kwargs"],
            }
        )
    for d in launches.get("declared") or []:
        jobs.append(
            {
                "ref": f"spec:{d['name']}",
                "kernel": d["kernel"],
                "bench_file": d.get("bench_file"),
                "declared": True,
                "args": d["args"],
                "options": d.get("options") or {},
            }
        )
    return jobs


def start_compile(
    side: Side, launches: dict, targets: list[str], folder: Path, cache: Path, hide: list[str]
) -> tuple[subprocess.Popen, Path]:
    """Start ``side``'s compiler on what its recorder found (``launches``, :func:`record`) for
    ``targets``; its results will be ``folder/compiled.json`` (:func:`finish_compile`)."""
    jobs = compile_jobs(launches, targets)
    folder.mkdir(parents=True, exist_ok=True)
    job_file, result_file = folder / "jobs.json", folder / "compiled.json"
    job_file.write_text(
        json.dumps(
            {"jobs": jobs, "targets": targets, "cache": str(cache / "compiled"), "hide": hide}
        )
    )
    env = side_env(side, cache)
    env.pop("TRITON_INTERPRET", None)
    proc = subprocess.Popen(
        [side.python, str(COMPILER), str(job_file), str(result_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, result_file


def finish_compile(side: Side, proc: subprocess.Popen, result_file: Path) -> dict:
    _, stderr = proc.communicate()
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise CodegenFailed(
            f"the {side.label} side's compiler exited {proc.returncode}: {last}",
            details=_tail(stderr, 30),
        )
    return json.loads(result_file.read_text())
