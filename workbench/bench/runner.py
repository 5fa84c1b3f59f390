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

This module schedules (which pair a case visits next, when it stops, when the pool grows); the
processes themselves and the pipe to them are :mod:`workbench.bench.processes`.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from workbench.bench import stats
from workbench.bench.changes import ChangedCode
from workbench.bench.processes import Pair, SideSpec, WorkerError, WorkerProcess, proc_bytes
from workbench.errors import UsageError
from workbench.vocabulary import BASELINE, PATCHED

UNTIMED_OFF_CHANGE = "runs none of the changed code"
"""Why a case that ran fine was not timed: it runs none of the series' changed code."""

CHECKS = (1, 2, 4, 8, 16, 32, 64, 128)
"""Cycles over the pairs after which an early stop may be taken."""
GROWTH = (8, 12, 16, 24, 32, 48, 64)
"""Pool sizes an undecided case grows through."""


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
    (``processes.PINNED_MALLOC``), "default" passes the caller's environment through untouched
    (and the verdict then rests on the paired reading alone: ``stats.compare``'s
    ``read_processes``)."""

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
        avail = proc_bytes(Path("/proc/meminfo"), "MemAvailable")
        if avail and all(rss):
            fits = int(0.5 * avail / sum(r for r in rss if r))
            self.cap = max(self.settings.min_processes, min(self.settings.max_processes, fits))

    def close(self) -> None:
        for pair in self.pairs:
            pair.close()


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
    ids: Collection[str] | None = None,
) -> BenchRun:
    """Run every case of ``file`` (matching ``only``) on both sides and compare them.

    Each case is first run once per side, untimed (``_probe``): its outputs are compared and,
    with ``changes``, the changed code it runs is found; then only the cases that run the change
    are timed (every case with ``settings.all_cases``, or without ``changes``). With ``into``
    the result is appended there first, so that an interrupted caller still has its cases.
    ``ids`` keeps only the cases of those exact ids (a patch's cases, ``per_patch``)."""
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
        listing = [
            c
            for c in pool.pairs[0].a.ask(op="list")["cases"]
            if _matches(c["id"], only) and (ids is None or c["id"] in ids)
        ]
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
