"""Run a bench file on two sides, baseline and patched, in interleaved rounds.

Each side is a worker process (``worker.py``) in its own environment: another interpreter, or the
same interpreter with another first ``PYTHONPATH`` entry. For every case, rounds alternate the
order (A B, B A, A B, …) so linear drift cancels; a round is a warm-up then timed batches.

Two processes running the same code can differ by several percent (memory layout, hash seeds),
so one process per side would call identical code faster or slower. Rounds therefore run in
blocks, each block in a fresh pair of processes, and the statistics resample blocks. How many
rounds a block holds follows from what starting a pair costs; when start-up is too dear (a torch
import), one pair runs the whole case and the report says so.

The loop stops at the time budget, or earlier once the answer is clear at a stricter level than
the one reported, checked at a few fixed counts only (looking after every round would inflate
false alarms).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.bench import stats
from workbench.errors import ProblemFound, UsageError

WORKER = Path(__file__).resolve().parent / "worker.py"
CHECKPOINTS = (6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)


@dataclass(frozen=True)
class SideSpec:
    """How to start one side: an interpreter and, optionally, a path put first on PYTHONPATH."""

    label: str
    python: str = sys.executable
    path: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.python}" + (f" with PYTHONPATH={self.path}" if self.path else "")


@dataclass
class Settings:
    budget: float = 10.0
    """Seconds of measurement per case (both sides together)."""
    min_effect: float = 0.02
    threads: int | None = 1
    min_blocks: int = 6
    max_rounds: int = 2000
    rounds_per_block: int | None = None
    """Rounds each fresh pair of processes runs (None: chosen from the start-up cost)."""
    max_startup_share: float = 0.25
    rounds_per_budget: int = 200
    """Rounds planned per budget: sets how long one side's round lasts. Short rounds keep the two
    sides of a round close in time, so a machine's fast and slow spells hit both alike."""
    min_batch_ns: int = 1_000_000
    adaptive: bool = True
    seed: int = 0


@dataclass
class CaseRun:
    id: str
    bench: str
    params: dict
    device: str
    bytes_moved: float | None
    flops: float | None
    number: int | None = None
    rounds_per_block: int | None = None
    blocks: list[int] = field(default_factory=list)
    """The process pair (block) each round ran in."""
    baseline_rounds: list[list[float]] = field(default_factory=list)
    patched_rounds: list[list[float]] = field(default_factory=list)
    skipped: str | None = None
    stopped: str | None = None
    comparison: stats.Comparison | None = None
    seconds: float = 0.0


class WorkerError(ProblemFound):
    title = "benchmark failed"


class Worker:
    """A worker process and its request/reply pipe."""

    def __init__(self, side: SideSpec, file: Path, threads: int | None):
        env = {**os.environ, **side.env}
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

    def ask(self, **req) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        if not reply.get("ok") and "error" in reply:
            raise WorkerError(
                f"{req.get('case', req['op'])} failed on the {self.side.label} side: "
                f"{reply['error'].strip().splitlines()[-1]}",
                f"it ran {self.side.describe()}",
                details=reply["error"],
            )
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


@dataclass
class BenchRun:
    file: str
    baseline: SideSpec
    patched: SideSpec
    settings: Settings
    env: dict = field(default_factory=dict)
    cases: list[CaseRun] = field(default_factory=list)
    started: float = 0.0
    seconds: float = 0.0


Progress = Callable[[str, CaseRun | None], None]


def _matches(case_id: str, only: str | None) -> bool:
    if not only:
        return True
    import fnmatch

    return only in case_id or fnmatch.fnmatch(case_id, only)


class Pair:
    """One worker process per side; replaced by a fresh pair at each block boundary."""

    def __init__(self, file: Path, baseline: SideSpec, patched: SideSpec, threads: int | None):
        t0 = time.perf_counter()
        # Both start at once: importing torch takes seconds, and nothing is being timed.
        self.a = Worker(baseline, file, threads)
        self.b = Worker(patched, file, threads)
        try:
            self.a.ready()
            self.b.ready()
        except BaseException:
            self.close()
            raise
        self.ready_seconds = time.perf_counter() - t0
        self.first_setup_seconds: float | None = None
        self.ready_cases: set[str] = set()

    def setup(self, case_id: str) -> str | None:
        """Prepare a case on both sides; returns a skip reason, if any."""
        if case_id in self.ready_cases:
            return None
        t0 = time.perf_counter()
        for w in (self.a, self.b):
            reply = w.ask(op="setup", case=case_id)
            if not reply["ok"]:
                return reply.get("skip", "skipped")
        if self.first_setup_seconds is None:
            # The first setup pays for the heavy imports (torch, the upstream), as any fresh
            # pair would: that is what recycling a pair costs.
            self.first_setup_seconds = time.perf_counter() - t0
        self.ready_cases.add(case_id)
        return None

    @property
    def startup(self) -> float:
        """Seconds a fresh pair takes to be ready to time a case."""
        return self.ready_seconds + (self.first_setup_seconds or 0.0)

    def close(self) -> None:
        for w in (self.a, self.b):
            w.close()


def run(
    file: Path,
    baseline: SideSpec,
    patched: SideSpec,
    settings: Settings,
    *,
    only: str | None = None,
    progress: Progress | None = None,
) -> BenchRun:
    """Run every case of ``file`` (matching ``only``) on both sides and compare them."""
    if not file.is_file():
        raise UsageError(f"no bench file {file}", "give a path to a .py file with @bench functions")
    note = progress or (lambda msg, case: None)
    result = BenchRun(str(file), baseline, patched, settings, started=time.time())
    t_start = time.perf_counter()
    pair = Pair(file, baseline, patched, settings.threads)
    try:
        listing = pair.a.ask(op="list")["cases"]
        for info in listing:
            if not _matches(info["id"], only):
                continue
            case = CaseRun(
                info["id"],
                info["bench"],
                info["params"],
                info["device"],
                info["bytes_moved"],
                info["flops"],
            )
            result.cases.append(case)
            note(f"{case.id}: setting up", case)
            pair = _run_case(case, pair, file, baseline, patched, settings, note)
        # The environment as it is after the benchmarks imported their libraries.
        result.env = {
            "baseline": pair.a.ask(op="env")["env"],
            "patched": pair.b.ask(op="env")["env"],
        }
    finally:
        pair.close()
    result.seconds = time.perf_counter() - t_start
    return result


def rounds_per_block(startup: float, side_round: float, planned: int, max_share: float) -> int:
    """Rounds each process pair runs so that starting it costs at most ``max_share`` of its time.

    When too few blocks for a verdict would fit in the plan, one pair runs every round (a
    long-lived pair: what start-up costs, for example importing torch, rules out fresh ones; the
    report says so, as its interval cannot include the variation between processes).
    """
    if side_round <= 0:
        return planned
    k = max(1, math.ceil(startup * (1 - max_share) / (max_share * 2 * side_round)))
    return k if planned // k >= stats.MIN_UNITS + 2 else planned


def _run_case(
    case: CaseRun,
    pair: Pair,
    file: Path,
    baseline: SideSpec,
    patched: SideSpec,
    s: Settings,
    note: Progress,
) -> Pair:
    t_setup = time.perf_counter()
    skipped = pair.setup(case.id)
    if skipped:
        case.skipped = skipped
        note(f"{case.id}: skipped ({skipped})", case)
        return pair
    case.number = pair.a.ask(op="calibrate", case=case.id, min_batch_ns=s.min_batch_ns)["number"]
    side_ns = int(s.budget * 1e9 / (2 * s.rounds_per_budget))
    request = {
        "op": "round",
        "case": case.id,
        "number": case.number,
        "warmup_ns": max(side_ns // 10, 1_000_000),
        "target_ns": side_ns,
        "min_samples": 3,
    }
    per_block = s.rounds_per_block or rounds_per_block(
        pair.startup, side_ns / 1e9, s.rounds_per_budget, s.max_startup_share
    )
    case.rounds_per_block = per_block
    t0 = time.perf_counter()  # the budget is for measuring: set-up and calibration are not in it
    deadline = t0 + s.budget
    block = 0
    in_block = 0
    while True:
        if in_block == per_block:
            pair.close()
            pair = Pair(file, baseline, patched, s.threads)
            pair.setup(case.id)
            block += 1
            in_block = 0
        r = len(case.baseline_rounds)
        order = (pair.a, pair.b) if r % 2 == 0 else (pair.b, pair.a)
        got = {w: w.ask(**request)["samples"] for w in order}
        case.baseline_rounds.append(got[pair.a])
        case.patched_rounds.append(got[pair.b])
        case.blocks.append(block)
        in_block += 1
        r += 1
        if r >= s.max_rounds:
            case.stopped = "max rounds"
            break
        if time.perf_counter() >= deadline and r >= 2:
            case.stopped = "budget"
            break
        # Units of evidence: blocks when pairs are recycled, rounds for one long-lived pair.
        units = block + 1 if per_block < s.rounds_per_budget else r
        at_unit_end = in_block == per_block or per_block >= s.rounds_per_budget
        if (
            s.adaptive
            and at_unit_end
            and units >= s.min_blocks
            and units in CHECKPOINTS
            and stats.decided(
                case.baseline_rounds, case.patched_rounds, s.min_effect, blocks=case.blocks
            )
        ):
            case.stopped = "clear answer"
            break
        if r % 4 == 0:
            note(f"{case.id}: {r} rounds", case)
    case.comparison = stats.compare(
        case.baseline_rounds,
        case.patched_rounds,
        min_effect=s.min_effect,
        seed=s.seed,
        blocks=case.blocks,
    )
    case.seconds = time.perf_counter() - t_setup
    note(f"{case.id}: {case.comparison.verdict}", case)
    return pair
