"""The processes a bench run times in: one side's fork server and the pair of them a case visits.

A :class:`WorkerProcess` runs ``worker.py`` in one side's interpreter, with the environment that
side starts from (glibc malloc pinned unless asked otherwise) and a JSON request/reply pipe. A
:class:`Pair` is one such process per side, started together: the unit of evidence the runner
schedules and the statistics resample.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import ProblemFound, UsageError

WORKER = Path(__file__).resolve().parent / "worker.py"


@dataclass(frozen=True)
class SideSpec:
    """How to start one side: an interpreter and, optionally, a path put first on PYTHONPATH."""

    label: str
    python: str = sys.executable
    path: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.python}" + (f" with PYTHONPATH={self.path}" if self.path else "")


ALLOCATORS = ("pinned", "default")
PINNED_MALLOC = {
    # glibc raises its mmap threshold at run time up to HEAP_MAX_SIZE / 2 (32 MiB on 64-bit):
    # pinned is where that adjustment ends, fixed from the start. A larger value is refused by
    # some glibc versions, and a refused one with the trim threshold set would send every
    # allocation over 128 KiB to mmap. The trim threshold is far above what a case frees
    # (glibc's own would be 64 MiB, which still left some processes giving back and faulting
    # in their heap top on every call): no process trims its heap between calls.
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20 if sys.maxsize > 2**32 else 512 << 10),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
}


def allocator_env(environ: Mapping[str, str], allocator: str) -> dict[str, str]:
    """The environment a worker starts from. Fresh processes of the same code land in different
    page-fault regimes (2-5x apart on torch CPU cases) because glibc adjusts its mmap and trim
    thresholds to what the imports allocated; setting either turns that adjustment off. "pinned"
    drops the caller's MALLOC_* and ``glibc.malloc.*`` tunables and sets ``PINNED_MALLOC``;
    "default" changes nothing."""
    if allocator not in ALLOCATORS:
        raise UsageError(f"unknown allocator {allocator!r}", f"one of {', '.join(ALLOCATORS)}")
    env = dict(environ)
    if allocator == "default":
        return env
    for var in [v for v in env if v.startswith("MALLOC_")]:
        del env[var]
    tunables = [
        t
        for t in env.pop("GLIBC_TUNABLES", "").split(":")
        if t and not t.startswith("glibc.malloc.")
    ]
    if tunables:
        env["GLIBC_TUNABLES"] = ":".join(tunables)
    return {**env, **PINNED_MALLOC}


class WorkerError(ProblemFound):
    title = "benchmark failed"


class WorkerProcess:
    """One side's fork-server process and its request/reply pipe."""

    def __init__(self, side: SideSpec, file: Path, threads: int | None, allocator: str = "pinned"):
        env = {**allocator_env(os.environ, allocator), **side.env}
        # torch.cuda.is_available() through NVML leaves the process fit to fork; the parent
        # never initialises CUDA itself, its children do.
        env.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        if side.path:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (side.path, os.environ.get("PYTHONPATH", "")) if p
            )
        if threads:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                env[var] = str(threads)
        self.side = side
        self.stderr_tail: list[str] = []
        try:
            self.proc = subprocess.Popen(
                [side.python, str(WORKER), str(file), str(threads or 0)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                bufsize=1,
                # Ctrl-C reaches the runner alone: it stops the workers itself and keeps what
                # was measured (a worker killed mid-reply would leave nothing to keep).
                start_new_session=True,
            )
        except OSError as exc:
            raise UsageError(
                f"cannot start the {side.label} interpreter {side.python}: {exc.strerror}",
                "check --baseline-python / --patched-python",
            ) from None
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())
            del self.stderr_tail[:-30]

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            tail = "\n".join(self.stderr_tail[-12:])
            raise WorkerError(
                f"the {self.side.label} side's worker exited ({self.proc.returncode})",
                f"its last output: {self.stderr_tail[-1] if self.stderr_tail else 'none'}",
                details=tail,
            )
        return json.loads(line)

    def ready(self) -> None:
        reply = self._read()
        if not reply.get("ok"):
            raise WorkerError(
                f"the {self.side.label} side could not load the bench file: "
                f"{reply['error'].strip().splitlines()[-1]}",
                f"it ran {self.side.describe()}",
                details=reply["error"],
            )

    def ask(self, **req: object) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        if not reply.get("ok") and "error" in reply:
            tail = "\n".join(self.stderr_tail[-12:])
            raise WorkerError(
                f"{req.get('case', req['op'])} failed on the {self.side.label} side: "
                f"{reply['error'].strip().splitlines()[-1]}",
                f"it ran {self.side.describe()}",
                details=reply["error"] + ("\n" + tail if tail else ""),
            )
        return reply

    def rss_bytes(self) -> int | None:
        """Resident memory of the parent after its imports (Linux), to size the pool."""
        return proc_bytes(Path(f"/proc/{self.proc.pid}/status"), "VmRSS")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


class Pair:
    """One fork-server process per side, started together: one independent unit of evidence."""

    def __init__(self, index: int, a: WorkerProcess, b: WorkerProcess):
        self.index, self.a, self.b = index, a, b

    def sides(self, first_a: bool) -> tuple[WorkerProcess, WorkerProcess]:
        return (self.a, self.b) if first_a else (self.b, self.a)

    def open(self, case_id: str) -> str | None:
        """Fork a child per side and set the case up in both; returns a skip reason, if any."""
        first, second = self.sides(self.index % 2 == 0)
        first.ask(op="fork")
        second.ask(op="fork")
        for w in (first, second):
            reply = w.ask(op="setup", case=case_id)
            if not reply["ok"]:
                return reply.get("skip", "skipped")
        return None

    def end(self) -> None:
        for w in (self.a, self.b):
            w.ask(op="end")

    def close(self) -> None:
        for w in (self.a, self.b):
            w.close()


def proc_bytes(path: Path, key: str) -> int | None:
    """A ``Key:   N kB`` figure of a /proc file in bytes (None where there is no /proc)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None
