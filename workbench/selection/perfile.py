"""Run test files the way ``test/run_tests.sh`` does: each file in its own interpreter.

pytorch/xla's tests are unittest scripts written to run one file per process (a file leaves
metrics counters and backend state that the next file must not see). Each file runs through
``unittest_probe.py``, which records every test's outcome as it happens; a file that crashes its
interpreter or outlives its timeout becomes an error with the last lines it printed, and the
outcomes it recorded before that are kept.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

from workbench.config.recipe import FILE_TIMEOUT
from workbench.selection.run import JunitReport, Outcome, PytestRun
from workbench.vocabulary import PATCHED

PROBE = Path(__file__).with_name("unittest_probe.py")
TAIL_LINES = 12


def _outcomes(results: Path, file: str) -> tuple[list[Outcome], dict | None]:
    outcomes: list[Outcome] = []
    end = None
    if not results.exists():
        return outcomes, end
    for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if "end" in rec:
            end = rec
        else:
            outcomes.append(Outcome(f"{file}::{rec['id']}", rec["status"], rec.get("message", "")))
    return outcomes, end


def run_file(
    python: Path,
    worktree: Path,
    file: str,
    results: Path,
    log: Path,
    *,
    env: dict[str, str],
    timeout: float = FILE_TIMEOUT,
) -> list[Outcome]:
    """One file, ``python FILE`` in the worktree; its outcomes, plus one for the file itself
    when it did not run to its end (a crash, a timeout, an error at import)."""
    results.unlink(missing_ok=True)
    cmd = [str(python), str(PROBE), str(results), file]
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {file}\n")
        fh.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=worktree,
            # Unbuffered, so the last lines of a file that crashes or hangs reach the log.
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # a timeout stops the file and whatever it started
        )
        stdout = proc.stdout
        assert stdout is not None

        def pump() -> None:  # the file's output to the log as it comes, the last lines kept
            for line in stdout:
                fh.write(line)
                tail.append(line.rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)
    outcomes, end = _outcomes(results, file)
    last = " | ".join(ln for ln in tail if ln.strip())[-600:]
    if timed_out:
        outcomes.append(
            Outcome(file, "error", f"timed out after {timeout:.0f} s; last lines: {last}")
        )
    elif end is None:
        rc = proc.returncode
        how = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
        outcomes.append(
            Outcome(file, "error", f"the interpreter crashed ({how}); last lines: {last}")
        )
    elif end.get("error"):
        outcomes.append(Outcome(file, "error", f"{end['error']}; last lines: {last}"))
    return outcomes


def run_files(
    python: Path,
    worktree: Path,
    files: list[str],
    folder: Path,
    log: Path,
    *,
    env: dict[str, str],
    timeout: float = FILE_TIMEOUT,
    side: str = PATCHED,
    progress: Callable[[str], None] | None = None,
) -> PytestRun:
    """Every file in turn, each in its own process; the report of all their outcomes.
    ``progress`` hears one line per file as it ends (what ran, how long)."""
    t0 = time.perf_counter()
    report = JunitReport()
    for i, file in enumerate(files):
        results = folder / f"results-{side}-{i}.jsonl"
        started = time.perf_counter()
        outcomes = run_file(python, worktree, file, results, log, env=env, timeout=timeout)
        report.outcomes += outcomes
        if progress is not None:
            counts = Counter(o.status for o in outcomes)
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            progress(
                f"{side} [{i + 1}/{len(files)}] {file}: {summary or 'no tests'} "
                f"({time.perf_counter() - started:.1f} s)"
            )
    failed = any(o.status in ("failed", "error") for o in report.outcomes)
    command = [str(python), "FILE", "(each of the files in its own process)"]
    return PytestRun(int(failed), report, time.perf_counter() - t0, command, log)


def selection_files(worktree: Path, targets: list[str]) -> list[str]:
    """The selection as files: a folder stands for its ``test_*.py`` files (as run_tests.sh
    lists them), a file for itself."""
    files: list[str] = []
    for target in targets:
        path = worktree / target
        if path.is_dir():
            files += sorted(p.relative_to(worktree).as_posix() for p in path.rglob("test_*.py"))
        elif path.is_file():
            files.append(target)
    return list(dict.fromkeys(files))


def file_commands(env: dict[str, str], files: list[str]) -> list[str]:
    """Each file as a reviewer runs it in the upstream checkout: ``ENV=... python FILE``."""
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return [f"{prefix} python {shlex.quote(f)}".strip() for f in files]
