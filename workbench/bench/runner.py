"""Run a bench file on two sides, baseline and patched, in interleaved rounds.

Each side runs in processes of its own environment (``worker.py``): another interpreter, or the
same interpreter with another first ``PYTHONPATH`` entry. Two processes of the same code can
differ by far more than a patch does: on torch CPU cases fresh interpreters timing the same call
gave medians 2-5x apart, each stable within itself (the memory allocator's state after the
imports decides whether calls take fresh pages). So the unit of evidence is a *process*, never
a round: a verdict rests on several independent processes per side.

What a process costs to start (importing torch takes seconds) is paid once per process for the
whole bench file: each process is a fork server that imports the file and what its benchmarks
import, and forks a fresh child for every *visit* of a case. A *pair* is one such process per
side, started together; every case visits every pair, a few rounds per visit, the order of the
sides alternating (A B, B A, …) so that drift cancels. The statistics resample pairs.

The loop stops at the time budget, or earlier once the answer is clear at a stricter level than
the one reported, checked after whole cycles over the pairs at a few fixed counts only (looking
after every round would inflate false alarms). A case still undecided at its budget gets more
pairs, up to ``max_budget`` seconds of measurement: more processes, not only more rounds.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workbench.bench import stats
from workbench.bench.changes import ChangedCode
from workbench.errors import ProblemFound, UsageError
from workbench.vocabulary import BASELINE, PATCHED

UNTIMED_OFF_CHANGE = "runs none of the changed code"
"""Why a case that ran fine was not timed: it runs none of the series' changed code."""

WORKER = Path(__file__).resolve().parent / "worker.py"
CHECKS = (1, 2, 4, 8, 16, 32, 64, 128)
"""Cycles over the pairs after which an early stop may be taken."""
GROWTH = (8, 12, 16, 24, 32, 48, 64)
"""Pool sizes an undecided case grows through."""


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
    max_budget: float | None = None
    """Seconds an undecided case may extend to, with more processes (None: 3x the budget)."""
    min_effect: float = 0.02
    threads: int | None = 1
    processes: int | None = None
    """Process pairs to start for a file (None: from what one costs, at least ``min_processes``)."""
    min_processes: int = 8
    max_processes: int = 24
    max_rounds: int = 4000
    rounds_per_block: int | None = None
    """Rounds per visit of a pair (None: chosen from what forking and setting up a case cost)."""
    max_startup_share: float = 0.25
    rounds_per_budget: int = 200
    """Rounds planned per budget: sets how long one side's round lasts. Short rounds keep the two
    sides of a round close in time, so a machine's fast and slow spells hit both alike."""
    min_batch_ns: int = 1_000_000
    adaptive: bool = True
    seed: int = 0
    all_cases: bool = False
    """Time the cases that run none of the series' changed code too (never as evidence)."""
    allocator: str = "pinned"
    """glibc malloc in the workers: "pinned" fixes its mmap and trim thresholds on both sides
    (``PINNED_MALLOC``), "default" passes the caller's environment through untouched (and the
    verdict then rests on the paired reading alone: ``stats.compare``'s ``read_processes``)."""

    @property
    def limit(self) -> float:
        return max(self.budget, self.max_budget if self.max_budget else 3 * self.budget)


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
    """The process pair each round ran in: the unit the statistics resample."""
    visits: list[int] = field(default_factory=list)
    """The visit (a forked child per side) each round ran in."""
    baseline_rounds: list[list[float]] = field(default_factory=list)
    patched_rounds: list[list[float]] = field(default_factory=list)
    faults: dict[str, list[float]] = field(default_factory=lambda: {BASELINE: [], PATCHED: []})
    """Page faults per call of each round, per side (CPU cases)."""
    skipped: str | None = None
    stopped: str | None = None
    comparison: stats.Comparison | None = None
    seconds: float = 0.0
    measured_seconds: float = 0.0
    outputs: dict | None = None
    """The two sides' return values compared (``outputs.compare``)."""
    changed_code: list[str] | None = None
    """The series' changed blocks this case runs (None: no series to compare, as with --file)."""
    may_run: list[str] = field(default_factory=list)
    """Changed code a call trace cannot see this case run, each with why."""
    untimed: str | None = None
    """Why a case that ran fine was not timed."""

    @property
    def evidence(self) -> bool | None:
        """Does the timing speak about the change? None where there is no change to speak of."""
        if self.changed_code is None:
            return None
        return bool(self.changed_code or self.may_run)

    @property
    def processes(self) -> int:
        """Independent processes per side the case's rounds ran in."""
        return len(set(self.blocks))

    @property
    def children(self) -> int:
        """Forked children per side (one per visit)."""
        return len(set(self.visits))


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
        return _proc_bytes(Path(f"/proc/{self.proc.pid}/status"), "VmRSS")

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
    startup_seconds: float = 0.0
    """Wall time spent starting the processes (imports), paid once per file, not per case."""
    processes: int = 0
    """Process pairs started for the file."""
    changes: ChangedCode | None = None
    probe_seconds: float = 0.0
    """Wall time of the untimed calls that compare outputs and find the changed code run."""


Progress = Callable[[str, CaseRun | None], None]


def _matches(case_id: str, only: str | None) -> bool:
    if not only:
        return True
    import fnmatch

    return only in case_id or fnmatch.fnmatch(case_id, only)


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


class Pool:
    """The pairs started for one bench file, shared by its cases; grown on demand."""

    def __init__(self, file: Path, baseline: SideSpec, patched: SideSpec, s: Settings):
        self.file, self.baseline, self.patched, self.settings = file, baseline, patched, s
        self.pairs: list[Pair] = []
        self.startup_seconds = 0.0
        self.pair_seconds = 0.0
        """Wall time the first pair took to be ready (both sides at once)."""
        self.cap = s.max_processes

    def grow(self, n: int) -> float:
        """Start ``n`` more pairs at once (which side starts first alternates); returns seconds."""
        n = min(n, self.cap - len(self.pairs))
        if n <= 0:
            return 0.0
        t0 = time.perf_counter()
        started: list[Pair] = []
        try:
            for _ in range(n):
                i = len(self.pairs) + len(started)
                first, second = (
                    (self.baseline, self.patched) if i % 2 == 0 else (self.patched, self.baseline)
                )
                w1 = WorkerProcess(first, self.file, self.settings.threads, self.settings.allocator)
                w2 = WorkerProcess(
                    second, self.file, self.settings.threads, self.settings.allocator
                )
                a, b = (w1, w2) if first is self.baseline else (w2, w1)
                started.append(Pair(i, a, b))
            for pair in started:
                pair.a.ready()
                pair.b.ready()
        except BaseException:
            for pair in started:
                pair.close()
            raise
        self.pairs += started
        seconds = time.perf_counter() - t0
        self.startup_seconds += seconds
        if len(self.pairs) == n:
            self.pair_seconds = seconds / n
            self._cap_by_memory()
        return seconds

    def _cap_by_memory(self) -> None:
        """At most half the available memory for the parents (torch's are a few hundred MB)."""
        rss = [w.rss_bytes() for w in (self.pairs[0].a, self.pairs[0].b)]
        avail = _proc_bytes(Path("/proc/meminfo"), "MemAvailable")
        if avail and all(rss):
            fits = int(0.5 * avail / sum(r for r in rss if r))
            self.cap = max(self.settings.min_processes, min(self.settings.max_processes, fits))

    def close(self) -> None:
        for pair in self.pairs:
            pair.close()


def _proc_bytes(path: Path, key: str) -> int | None:
    """A ``Key:   N kB`` figure of a /proc file in bytes (None where there is no /proc)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def initial_processes(pair_seconds: float, cases: int, s: Settings) -> int:
    """Pairs to start for a file: starting them may take ``max_startup_share`` of the file's
    measuring time, and never fewer than a verdict needs."""
    if s.processes:
        return max(1, s.processes)
    if pair_seconds <= 0:
        return s.max_processes
    # Pairs start in parallel: about two processes per core at once.
    per_pair = pair_seconds * 2 / max(1, min(os.cpu_count() or 1, 8))
    fits = int(s.max_startup_share * cases * s.budget / max(per_pair, 1e-3))
    return max(s.min_processes, min(s.max_processes, fits))


def run(
    file: Path,
    baseline: SideSpec,
    patched: SideSpec,
    settings: Settings,
    *,
    only: str | None = None,
    progress: Progress | None = None,
    changes: ChangedCode | None = None,
    into: list[BenchRun] | None = None,
) -> BenchRun:
    """Run every case of ``file`` (matching ``only``) on both sides and compare them.

    Each case is first run once per side, untimed (``_probe``): its outputs are compared and,
    with ``changes``, the changed code it runs is found; then only the cases that run the change
    are timed (every case with ``settings.all_cases``, or without ``changes``). With ``into``
    the result is appended there first, so that an interrupted caller still has its cases."""
    if not file.is_file():
        raise UsageError(f"no bench file {file}", "give a path to a .py file with @bench functions")
    note = progress or (lambda msg, case: None)
    result = BenchRun(str(file), baseline, patched, settings, started=time.time(), changes=changes)
    if into is not None:
        into.append(result)  # what was measured stays reachable if the run is interrupted
    t_start = time.perf_counter()
    pool = Pool(file, baseline, patched, settings)
    try:
        note("starting one process per side", None)
        pool.grow(1)
        listing = [c for c in pool.pairs[0].a.ask(op="list")["cases"] if _matches(c["id"], only)]
        result.cases = [
            CaseRun(
                info["id"],
                info["bench"],
                info["params"],
                info["device"],
                info["bytes_moved"],
                info["flops"],
            )
            for info in listing
        ]
        t_probe = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="workbench-outputs-") as tmp:
            for i, case in enumerate(result.cases):
                note(f"{case.id}: one untimed call per side (outputs, code it runs)", case)
                _probe(case, pool.pairs[0], changes, Path(tmp) / f"{i}.out")
        result.probe_seconds = time.perf_counter() - t_probe
        timed = [c for c in result.cases if c.skipped is None and c.untimed is None]
        for case in timed:
            if case.evidence is False and not settings.all_cases:
                case.untimed = UNTIMED_OFF_CHANGE
        timed = [c for c in timed if c.untimed is None]
        if timed:
            want = initial_processes(pool.pair_seconds, len(timed), settings)
            note(f"starting {want} processes per side (imports once per process)", None)
            pool.grow(want - len(pool.pairs))
        for case in timed:
            note(f"{case.id}: setting up", case)
            _run_case(case, pool, settings, note)
        # The environment as a child sees it: the bench file's imports done, CUDA queried.
        first = pool.pairs[0]
        result.env = {}
        for label, w in ((BASELINE, first.a), (PATCHED, first.b)):
            w.ask(op="fork")
            result.env[label] = w.ask(op="env")["env"]
            w.ask(op="end")
    finally:
        pool.close()
    result.startup_seconds = pool.startup_seconds
    result.processes = len(pool.pairs)
    result.seconds = time.perf_counter() - t_start
    return result


def _probe(case: CaseRun, pair: Pair, changes: ChangedCode | None, keep: Path) -> None:
    """One untimed call per side, in fresh children: the baseline keeps its output, the patched
    side compares its own with it; each side reports the changed code it ran."""
    found: dict[str, dict] = {}
    try:
        for label, w in ((BASELINE, pair.a), (PATCHED, pair.b)):
            w.ask(op="fork")
            reply = w.ask(
                op="probe",
                case=case.id,
                watch=changes.watch(label) if changes else {},
                **({"save_to": str(keep)} if label == BASELINE else {"compare_with": str(keep)}),
            )
            if not reply["ok"]:
                case.skipped = reply.get("skip", "skipped")
                if label == PATCHED:
                    case.skipped += " (on the patched side only)"
                return
            found[label] = reply
    finally:
        pair.end()
    # The baseline's reason first: why its output could not be kept says more.
    case.outputs = found[BASELINE].get("outputs") or found[PATCHED].get("outputs")
    if changes is not None:
        case.changed_code, case.may_run = changes.attribute(found)


def rounds_per_block(startup: float, side_round: float, cap: int, max_share: float) -> int:
    """Rounds per visit of a pair so that forking and setting up the case cost at most
    ``max_share`` of the visit, and at most ``cap`` (so one cycle over the pairs fits)."""
    if side_round <= 0:
        return max(1, cap)
    k = max(1, math.ceil(startup * (1 - max_share) / (max_share * 2 * side_round)))
    return max(1, min(k, cap))


def _run_case(case: CaseRun, pool: Pool, s: Settings, note: Progress) -> None:
    t_setup = time.perf_counter()
    pair = pool.pairs[0]
    skipped = pair.open(case.id)
    if skipped:
        pair.end()
        case.skipped = skipped
        note(f"{case.id}: skipped ({skipped})", case)
        return
    child_start = time.perf_counter() - t_setup
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
    per_visit = s.rounds_per_block or rounds_per_block(
        child_start,
        side_ns / 1e9,
        max(1, s.rounds_per_budget // len(pool.pairs)),
        s.max_startup_share,
    )
    case.rounds_per_block = per_visit
    rounds_of = [0] * len(pool.pairs)
    t0 = time.perf_counter()  # the budget is for measuring: starting processes is not in it
    paused = 0.0  # seconds spent starting more pairs for this case
    visit = 0
    cycles = 0
    while True:
        for _ in range(per_visit):
            first_a = (rounds_of[pair.index] + pair.index) % 2 == 0
            got = {w: w.ask(**request) for w in pair.sides(first_a)}
            case.baseline_rounds.append(got[pair.a]["samples"])
            case.patched_rounds.append(got[pair.b]["samples"])
            for label, w in ((BASELINE, pair.a), (PATCHED, pair.b)):
                if got[w].get("faults_per_call") is not None:
                    case.faults[label].append(got[w]["faults_per_call"])
            case.blocks.append(pair.index)
            case.visits.append(visit)
            rounds_of[pair.index] += 1
        pair.end()
        r = len(case.baseline_rounds)
        elapsed = time.perf_counter() - t0 - paused
        if r % (4 * per_visit) == 0:
            note(f"{case.id}: {r} rounds, {case.processes} processes per side", case)
        stop = None
        cycle_done = min(rounds_of) == max(rounds_of)
        if r >= s.max_rounds:
            stop = "max rounds"
        elif elapsed >= s.limit and min(rounds_of) > 0:
            # Not before every process started has been visited once: on a busy machine the
            # budget can run out first, and a process started and never used is evidence lost.
            stop = "max budget"
        elif cycle_done:
            cycles += 1
            if (
                s.adaptive
                and cycles in CHECKS
                and stats.decided(
                    case.baseline_rounds,
                    case.patched_rounds,
                    s.min_effect,
                    blocks=case.blocks,
                    read_processes=s.allocator == "pinned",
                )
            ):
                stop = "clear answer"
            elif elapsed >= s.budget:
                stop = "budget"
                if s.adaptive and _undecided(case, s):
                    grown = _grow(pool, rounds_of)
                    if grown:
                        paused += grown
                        note(f"{case.id}: undecided, {len(pool.pairs)} processes per side", case)
                        stop = None
                    elif len(pool.pairs) >= s.min_processes:
                        stop = None  # no more processes to start: more rounds, to the limit
        if stop:
            case.stopped = stop
            break
        # The pair with the fewest rounds next: round-robin, and new pairs catch up first.
        pair = pool.pairs[min(range(len(rounds_of)), key=rounds_of.__getitem__)]
        visit += 1
        skipped = pair.open(case.id)
        if skipped:
            raise WorkerError(
                f"{case.id} skipped in one process and ran in another ({skipped})",
                "a benchmark must decide to skip the same way in every process",
            )
    case.measured_seconds = time.perf_counter() - t0 - paused
    case.comparison = stats.compare(
        case.baseline_rounds,
        case.patched_rounds,
        min_effect=s.min_effect,
        seed=s.seed,
        blocks=case.blocks,
        read_processes=s.allocator == "pinned",
    )
    case.seconds = time.perf_counter() - t_setup
    note(f"{case.id}: {case.comparison.verdict}", case)


def _undecided(case: CaseRun, s: Settings) -> bool:
    c = stats.compare(
        case.baseline_rounds,
        case.patched_rounds,
        min_effect=s.min_effect,
        seed=s.seed,
        blocks=case.blocks,
        resamples=500,
        read_processes=s.allocator == "pinned",
    )
    return c.verdict == stats.INCONCLUSIVE


def _grow(pool: Pool, rounds_of: list[int]) -> float:
    """Start the next step of pairs for an undecided case; returns the seconds it took."""
    have = len(pool.pairs)
    target = next((g for g in GROWTH if g > have), have)
    seconds = pool.grow(target - have)
    rounds_of += [0] * (len(pool.pairs) - len(rounds_of))
    return seconds
