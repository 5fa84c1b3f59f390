"""Statistics for a before/after comparison: two readings of the same samples.

**Pairs.** A round times the baseline and the patched side back to back, so drift of a noisy
machine hits both alike; the unit of evidence is the per-round log ratio
``log(median_patched / median_base)``. The estimate is the median of those log ratios: a machine
that switches between fast and slow states (seen here: rounds 40% apart) makes their
distribution heavy-tailed, and on measured trials the median gave tighter honest intervals than
the Hodges-Lehmann estimate or a trimmed mean. The 95% interval comes from a bootstrap over
rounds, or over blocks of rounds that shared a pair of processes; the p-value from the Wilcoxon
signed-rank test on the per-block medians.

**Processes.** Fresh processes of the same code can land in a few discrete states far apart
(glibc's page-fault regimes: 2-5x on torch CPU cases). A pair whose two processes landed in
different states then gives a log ratio of either sign and of the largest size, and such pairs
rule the signed ranks: the paired reading loses its power exactly when the states are few and
far apart. The second reading compares the processes' medians unpaired: the Hodges-Lehmann
shift between the two sides' log medians, its distribution-free 95% interval (the inverted
Mann-Whitney test) and the Mann-Whitney p-value, exact for up to 30 processes a side. A state
shared by both sides then only compares with itself. That holds only while both sides'
processes fall into the states alike: with glibc's thresholds as they come, identical sides on
torchao did not (in the 2^21 fp32 case the patched side's processes landed in the slow state
25 times to the baseline's 11 over four trials, and with this reading three of 48 unchanged
cases were called faster or slower, two on it alone), so the runner uses it only with the
allocator pinned (``read_processes``).

A faster/slower verdict needs one reading with its whole interval beyond ±min-effect **and** its
rank test below ``ALPHA`` (1%), from at least six process pairs, and no reading saying the other
direction. Two readings at 1% each bound the false alarms at 2% however noisy the processes
are, where one test at 5% allowed 5%: with processes far apart the interval alone no longer
protects (it is beyond ±min-effect whenever the test is).

Pure Python: a few hundred rounds at most, and the core package does not depend on numpy.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

FASTER, SLOWER, UNCHANGED, INCONCLUSIVE = "faster", "slower", "unchanged", "inconclusive"
MIN_UNITS = 6
"""Independent process pairs below which no verdict is given: a bootstrap of fewer is noise."""
ALPHA = 0.01
"""faster/slower also needs the reading's rank test below this (each of the two readings)."""
EXACT_MAX = 30
"""Processes a side up to which the Mann-Whitney distribution is counted exactly."""


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def wilcoxon_signed_rank(xs: Sequence[float]) -> float:
    """Two-sided p-value that the median of ``xs`` is 0 (exact for n <= 30 without ties)."""
    d = [x for x in xs if x != 0]
    n = len(d)
    if n == 0:
        return 1.0
    ranks = _ranks([abs(x) for x in d])
    w_plus = sum(r for r, x in zip(ranks, d, strict=True) if x > 0)
    tied = len(set(abs(x) for x in d)) != n
    if n <= 30 and not tied:
        # Exact distribution of W+ by counting subsets of ranks 1..n with each sum.
        counts = [1] + [0] * (n * (n + 1) // 2)
        for k in range(1, n + 1):
            for s in range(len(counts) - 1, k - 1, -1):
                counts[s] += counts[s - k]
        total = 2**n
        w = round(w_plus)
        lower = sum(counts[: w + 1]) / total
        upper = sum(counts[w:]) / total
        return min(1.0, 2 * min(lower, upper))
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24
    var -= sum(t**3 - t for t in _tie_sizes([abs(x) for x in d])) / 48
    if var <= 0:
        return 1.0
    z = (abs(w_plus - mean) - 0.5) / math.sqrt(var)
    return min(1.0, 2 * _normal_sf(max(z, 0.0)))


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value: exact for up to ``EXACT_MAX`` values a side without
    ties, else the normal approximation with tie correction."""
    n1, n2 = len(a), len(b)
    if not n1 or not n2:
        return 1.0
    if max(n1, n2) <= EXACT_MAX and len(set(a) | set(b)) == n1 + n2:
        counts = _u_counts(n1, n2)
        wins = sum(x > y for x in a for y in b)
        total = sum(counts)
        lower, upper = sum(counts[: wins + 1]) / total, sum(counts[wins:]) / total
        return min(1.0, 2 * min(lower, upper))
    ranks = _ranks(list(a) + list(b))
    r1 = sum(ranks[:n1])
    u = r1 - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    ties = sum(t**3 - t for t in _tie_sizes(list(a) + list(b)))
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(var)
    return min(1.0, 2 * _normal_sf(max(z, 0.0)))


@functools.cache
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """Of the C(m+n, m) orders of two samples of m and n values, how many give U = 0..m*n
    (U: pairs in which the first sample's value is the larger)."""
    if m == 0 or n == 0:
        return (1,)
    # The largest value is the first sample's (it beats all n others) or the second's.
    counts = [0] * (m * n + 1)
    for u, c in enumerate(_u_counts(m - 1, n)):
        counts[u + n] += c
    for u, c in enumerate(_u_counts(m, n - 1)):
        counts[u] += c
    return tuple(counts)


def shift_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[float, float, float]:
    """The Hodges-Lehmann estimate of the shift ``b - a`` (the median of all differences
    ``b[j] - a[i]``) and the distribution-free interval that inverts the Mann-Whitney test:
    the k-th smallest and largest differences, k from U's exact null distribution (normal
    beyond ``EXACT_MAX``). Unbounded when the samples are too small for the level."""
    m, n = len(a), len(b)
    if not m or not n:
        return (0.0, -math.inf, math.inf)
    diffs = sorted(y - x for x in a for y in b)
    est = statistics.median(diffs)
    tail = (1 - level) / 2
    if max(m, n) <= EXACT_MAX:
        counts = _u_counts(m, n)
        total = sum(counts)
        # k: how many values of U (from 0) have a lower tail within ``tail``.
        k = sum(1 for c in itertools.accumulate(counts) if c / total <= tail)
    else:
        z = statistics.NormalDist().inv_cdf(1 - tail)
        k = max(0, math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)))
    if k == 0:
        return (est, -math.inf, math.inf)
    return (est, diffs[k - 1], diffs[m * n - k])


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _tie_sizes(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [c for c in counts.values() if c > 1]


def iqr(xs: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[2] - q[0]


def verdict(lo: float, hi: float, min_effect: float) -> str:
    """faster/slower when the whole interval is beyond ±min_effect; unchanged when inside."""
    if hi < 1 - min_effect:
        return FASTER
    if lo > 1 + min_effect:
        return SLOWER
    if lo >= 1 - min_effect and hi <= 1 + min_effect:
        return UNCHANGED
    return INCONCLUSIVE


@dataclass(frozen=True)
class SideSummary:
    median_ns: float
    iqr_ns: float
    cv: float
    """Coefficient of variation of the per-round medians (round-to-round noise)."""
    samples: int


@dataclass(frozen=True)
class Reading:
    """One reading of the samples: patched/baseline, its 95% interval, its rank test's p-value,
    and what they say together (faster/slower needs both, unchanged the interval alone)."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str


def _reading(est: float, lo: float, hi: float, p_value: float, min_effect: float) -> Reading:
    """A reading from an estimate and interval of the log ratio, and a p-value."""
    v = verdict(math.exp(lo), math.exp(hi), min_effect)
    if v in (FASTER, SLOWER) and p_value >= ALPHA:
        v = INCONCLUSIVE
    return Reading(math.exp(est), math.exp(lo), math.exp(hi), p_value, v)


@dataclass(frozen=True)
class Comparison:
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str
    rounds: int
    blocks: int
    """Independent process pairs the rounds ran in."""
    baseline: SideSummary
    patched: SideSummary
    noise_warning: str | None
    process_spread: float = 0.0
    """How far apart the processes of one side were: the larger side's max/min - 1 of the
    per-process medians (0 with a single process)."""
    pairs: Reading | None = None
    """The paired reading: round log ratios, pairs resampled, signed-rank test over pairs."""
    processes: Reading | None = None
    """The unpaired reading over the processes' medians (None without several processes, or
    where it was not asked for)."""
    basis: str = "pairs"
    """The reading the ratio, interval and p-value above are: "pairs", or "processes" where
    only the processes' reading gave the verdict."""


def summarize_side(rounds: Sequence[Sequence[float]]) -> SideSummary:
    pooled = [x for r in rounds for x in r]
    medians = [statistics.median(r) for r in rounds]
    mean = statistics.fmean(medians)
    cv = statistics.stdev(medians) / mean if len(medians) > 1 and mean > 0 else 0.0
    return SideSummary(statistics.median(pooled), iqr(pooled), cv, len(pooled))


def log_ratios(base: Sequence[Sequence[float]], patched: Sequence[Sequence[float]]) -> list[float]:
    return [
        math.log(statistics.median(p) / statistics.median(b))
        for b, p in zip(base, patched, strict=True)
    ]


def clusters(logs: list[float], blocks: Sequence[int] | None) -> list[list[float]]:
    """Round log ratios grouped by block; every round its own group without blocks."""
    if not blocks or len(set(blocks)) < 2:
        return [[x] for x in logs]
    groups: dict[int, list[float]] = {}
    for x, b in zip(logs, blocks, strict=True):
        groups.setdefault(b, []).append(x)
    return list(groups.values())


def _interval(
    groups: list[list[float]], level: float, resamples: int, seed: int
) -> tuple[float, float]:
    """Bootstrap over groups (blocks); the statistic pools the resampled groups' rounds."""

    def stat(sample: Sequence[list[float]]) -> float:
        return statistics.median([x for g in sample for x in g])

    if len(groups) < 2:
        return (-math.inf, math.inf)
    rng = random.Random(seed)
    n = len(groups)
    values = sorted(stat([groups[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    tail = (1 - level) / 2
    return (
        values[math.floor(tail * (resamples - 1))],
        values[math.ceil((1 - tail) * (resamples - 1))],
    )


def compare(
    base: Sequence[Sequence[float]],
    patched: Sequence[Sequence[float]],
    *,
    min_effect: float = 0.02,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    blocks: Sequence[int] | None = None,
    read_processes: bool = True,
) -> Comparison:
    """Compare two sides given per-round samples (``base[r]`` and ``patched[r]`` paired).

    ``blocks[r]`` names the process pair round ``r`` ran in; blocks are resampled whole, and
    with several blocks and ``read_processes`` the processes' medians are compared as well
    (the module's docstring).
    """
    logs = log_ratios(base, patched)
    groups = clusters(logs, blocks)
    lo, hi = _interval(groups, level, resamples, seed)
    p_value = wilcoxon_signed_rank([statistics.median(g) for g in groups])
    paired = _reading(statistics.median(logs), lo, hi, p_value, min_effect)
    procs = process_reading(base, patched, blocks, min_effect, level) if read_processes else None
    head, basis, v = combine(paired, procs)
    warning = None
    if procs and {paired.verdict, procs.verdict} == {FASTER, SLOWER}:
        warning = (
            f"the paired reading says {paired.verdict} and the processes' medians "
            f"{procs.verdict}: raise --max-budget for more processes"
        )
    elif v == INCONCLUSIVE and verdict(paired.ci_low, paired.ci_high, min_effect) != v:
        # The interval and the rank test must agree.
        warning = (
            f"the interval is beyond ±{100 * min_effect:g}% but the rank test over "
            f"{len(groups)} {'process pairs' if blocks else 'rounds'} is not (p = {p_value:.2g}); "
            "raise --max-budget for more processes"
        )
    ci_low, ci_high = head.ci_low, head.ci_high
    spread = process_spread(base, patched, blocks)
    if len(groups) < MIN_UNITS:
        v = INCONCLUSIVE
        unit = "process pairs" if blocks and len(set(blocks)) > 1 else "independent rounds"
        warning = (
            f"only {len(groups)} {unit} (at least {MIN_UNITS} are needed for a verdict); "
            "raise --budget or --max-budget"
        )
    elif (
        warning is None
        and v == INCONCLUSIVE
        and spread > 2 * min_effect
        and (ci_high - ci_low) > 2 * min_effect
    ):
        warning = (
            f"processes of the same code differ by up to {100 * spread:.0f}% here, so "
            f"{len(groups)} processes per side cannot bound a ±{100 * min_effect:g}% change "
            "(the interval is "
            f"{100 * (ci_high - ci_low):.1f}% wide); raise --max-budget or quiet the machine"
        )
    elif warning is None and v == INCONCLUSIVE and (ci_high - ci_low) > 2 * min_effect:
        warning = (
            f"noise too high for the budget: the interval is {100 * (ci_high - ci_low):.1f}% wide, "
            f"more than twice ±{100 * min_effect:g}%; raise --budget, quiet the machine, or raise "
            "--min-effect"
        )
    return Comparison(
        ratio=head.ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=head.p_value,
        verdict=v,
        rounds=len(logs),
        blocks=len(groups) if blocks else 1,
        baseline=summarize_side(base),
        patched=summarize_side(patched),
        noise_warning=warning,
        process_spread=spread,
        pairs=paired,
        processes=procs,
        basis=basis,
    )


def combine(paired: Reading, procs: Reading | None) -> tuple[Reading, str, str]:
    """The readings together: the one the verdict rests on, its name, and the verdict. Faster
    or slower from either reading unless the other says the opposite (then inconclusive);
    otherwise the paired reading's (unchanged needs its interval within ±min-effect)."""
    said = {r.verdict for r in (paired, procs) if r and r.verdict in (FASTER, SLOWER)}
    if len(said) > 1:
        return paired, "pairs", INCONCLUSIVE
    if procs and said and paired.verdict not in said:
        return procs, "processes", procs.verdict
    return paired, "pairs", paired.verdict


def process_reading(
    base: Sequence[Sequence[float]],
    patched: Sequence[Sequence[float]],
    blocks: Sequence[int] | None,
    min_effect: float,
    level: float = 0.95,
) -> Reading | None:
    """The processes' medians compared unpaired: the Hodges-Lehmann shift of their logs, its
    Mann-Whitney interval and p-value (None with fewer than two processes a side)."""
    if not blocks or len(set(blocks)) < 2:
        return None
    a = [math.log(m) for m in process_medians(base, blocks).values()]
    b = [math.log(m) for m in process_medians(patched, blocks).values()]
    est, lo, hi = shift_interval(a, b, level)
    return _reading(est, lo, hi, mann_whitney(a, b), min_effect)


def process_medians(
    rounds: Sequence[Sequence[float]], blocks: Sequence[int] | None
) -> dict[int, float]:
    """The median of each process (block) of one side, from its rounds' samples."""
    if not blocks:
        return {0: statistics.median(x for r in rounds for x in r)} if rounds else {}
    pooled: dict[int, list[float]] = {}
    for r, b in zip(rounds, blocks, strict=True):
        pooled.setdefault(b, []).extend(r)
    return {b: statistics.median(xs) for b, xs in pooled.items()}


def process_spread(
    base: Sequence[Sequence[float]],
    patched: Sequence[Sequence[float]],
    blocks: Sequence[int] | None,
) -> float:
    worst = 0.0
    for rounds in (base, patched):
        medians = list(process_medians(rounds, blocks).values())
        if len(medians) > 1 and min(medians) > 0:
            worst = max(worst, max(medians) / min(medians) - 1)
    return worst


def decided(
    base: Sequence[Sequence[float]],
    patched: Sequence[Sequence[float]],
    min_effect: float,
    level: float = 0.99,
    blocks: Sequence[int] | None = None,
    read_processes: bool = True,
) -> bool:
    """For adaptive stopping: is the answer clear even at a stricter level than the report's?"""
    groups = clusters(log_ratios(base, patched), blocks)
    if len(groups) < MIN_UNITS:
        return False
    lo, hi = _interval(groups, level, 1000, 1)
    v = verdict(math.exp(lo), math.exp(hi), min_effect)
    if v == UNCHANGED:
        return True
    strict = ALPHA / 5
    if (
        v in (FASTER, SLOWER)
        and wilcoxon_signed_rank([statistics.median(g) for g in groups]) < strict
    ):
        return True
    procs = process_reading(base, patched, blocks, min_effect, level) if read_processes else None
    return bool(procs and procs.verdict in (FASTER, SLOWER) and procs.p_value < strict)
