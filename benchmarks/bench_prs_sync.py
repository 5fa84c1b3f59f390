"""What a sync of the contributor's own PRs with their checks and threads costs, and reading it back.

The tests' local GitHub (tests/github_server.py) runs in its own process and serves N open PRs
of the viewer in pytorch/ao, shaped like ao's: 40 Actions jobs on each head commit (every 4th PR
with one failing), two reviews, four review threads, six comments. Its GraphQL runs the real
query with graphql-core against GitHub's schema subset; the time it spends answering is reported
apart ("server"), since over the internet GitHub's own time and latency replace it.

Timed, for each N:

1. the status refresh (``Syncer.refresh_status``, store writes included): requests, wall time,
   the server's share, and the client's (wall minus server);
2. ``workbench prs --mine --json`` as a process: the blocking list of every PR, read offline,
   each failing check classified against its merge base;
3. the merge bases of the PRs with a failing check (every 4th; five bases shared among them) and
   their checks (``refresh_bases``): requests, GitHub's rate-limit points for the GraphQL part by
   its documented formula, and wall time; then again, when everything is stored.

    python benchmarks/bench_prs_sync.py                 # N = 100 and 250
    python benchmarks/bench_prs_sync.py --prs 100 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# bench_sync.py of this folder (a script's own folder is first on sys.path)
from bench_sync import control, local_client, serve, workbench_env  # noqa: E402

from tests.github_server import make_workspace  # noqa: E402
from workbench.github.bases import COMMITS_PER_REQUEST, commits_query, refresh_bases  # noqa: E402
from workbench.github.store import Store  # noqa: E402
from workbench.github.sync import Syncer  # noqa: E402

REPO = "pytorch/ao"


def refresh(url: str, home: Path) -> tuple[float, int, float, int]:
    """One status refresh: (seconds, requests, server seconds, PRs stored)."""
    control(url, "/_fake/reset", {})
    client = local_client(url)
    started = time.perf_counter()
    with client, Store(home / "github.db") as store:
        report = Syncer(client, store).refresh_status([REPO], changed=True)
    seconds = time.perf_counter() - started
    stats = control(url, "/_fake/stats")
    return seconds, stats["requests"], stats["server_seconds"], report.mine


def read_back(url: str, root: Path, home: Path) -> tuple[float, int, int]:
    """``workbench prs --mine --json`` as a process: (seconds, PRs, blocking entries)."""
    env = workbench_env(url, root, home)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "prs", "ao", "--mine", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seconds = time.perf_counter() - started
    prs = json.loads(out)
    return seconds, len(prs), sum(len(p["blocking"]) for p in prs)


def bases(url: str, home: Path) -> tuple[float, dict, float, int]:
    """One base refresh from an empty base store: (seconds, its report, server seconds, the
    requests of a second refresh right after)."""
    with Store(home / "github.db") as store:
        for table in ("pr_bases", "commit_reads", "commit_checks"):
            store._db.execute(f"DELETE FROM {table}")
    control(url, "/_fake/reset", {})
    client = local_client(url)
    with client, Store(home / "github.db") as store:
        started = time.perf_counter()
        report = refresh_bases(client, store, [REPO], {REPO: "main"})
        seconds = time.perf_counter() - started
        server = control(url, "/_fake/stats")["server_seconds"]
        again = refresh_bases(client, store, [REPO], {REPO: "main"})
    return seconds, report.to_json(), server, again.requests


def base_points(n_bases: int, n_heads: int) -> int:
    """GitHub's points for reading ``n_bases`` merge bases and ``n_heads`` heads, in the
    batches :func:`refresh_bases` sends (bases first)."""
    kinds = ["base"] * n_bases + ["head"] * n_heads
    return sum(
        github_cost(commits_query(kinds[k : k + COMMITS_PER_REQUEST]), {})[0]
        for k in range(0, len(kinds), COMMITS_PER_REQUEST)
    )


def measure(prs: int, repeat: int) -> dict:
    with serve("--own-prs", f"{REPO}={prs}") as url, tempfile.TemporaryDirectory() as tmp:
        root = make_workspace(Path(tmp) / "ws")
        home = Path(tmp) / "home"
        # The item lists first (not timed): `prs --mine` lists the PRs the store holds.
        client = local_client(url)
        with client, Store(home / "github.db") as store:
            Syncer(client, store, branches={REPO: "main"}).run([("ao", REPO)])
        runs = [refresh(url, home) for _ in range(repeat)]
        based = [bases(url, home) for _ in range(repeat)]
        reads = [read_back(url, root, home) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    server = statistics.median(r[2] for r in runs)
    client_side = statistics.median(r[0] - r[2] for r in runs)
    report = based[0][1]
    heads = report["prs"]
    return {
        "prs": prs,
        "stored": runs[0][3],
        "requests": runs[0][1],
        "wall_s": wall,
        "server_s": server,
        "client_s": client_side,
        "read_s": statistics.median(r[0] for r in reads),
        "blocking_entries": reads[0][2],
        "failing_prs": heads,
        "compares": report["compared"],
        "commits_read": report["commits_read"],
        "base_requests": report["requests"],
        "base_points": base_points(report["commits_read"] - heads, heads),
        "base_s": statistics.median(b[0] for b in based),
        "base_server_s": statistics.median(b[2] for b in based),
        "again_requests": based[0][3],
    }


def github_cost(query: str, variables: dict[str, object]) -> tuple[int, int]:
    """(rate-limit points, most nodes) GitHub would charge for ``query`` by its documented rules
    ("Rate limits and node limits for the GraphQL API"): every connection asked with
    ``first``/``last`` counts one request per parent it may repeat under, points are those
    requests over 100 (at least 1), nodes the product of the page sizes down each path."""
    from graphql import FieldNode, FragmentDefinitionNode, InlineFragmentNode, parse

    doc = parse(query)
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in doc.definitions if not isinstance(d, FragmentDefinitionNode))
    requests = 0
    nodes = 0

    def size(field: FieldNode) -> int | None:
        for arg in field.arguments or ():
            if arg.name.value in ("first", "last"):
                value = arg.value
                raw = getattr(value, "value", None)
                if raw is None and hasattr(value, "name"):
                    raw = variables.get(value.name.value)
                return int(raw)  # type: ignore[arg-type]
        return None

    def walk(selections: object, repeat: int) -> None:
        nonlocal requests, nodes
        for sel in getattr(selections, "selections", ()):
            if isinstance(sel, FieldNode):
                n = size(sel)
                if n is not None:
                    requests += repeat
                    nodes += repeat * n
                    walk(sel.selection_set, repeat * n)
                else:
                    walk(sel.selection_set, repeat)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set, repeat)
            else:  # a fragment spread
                walk(fragments[sel.name.value].selection_set, repeat)

    walk(operation.selection_set, 1)
    return max(1, round(requests / 100)), nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, action="append", help="own PRs (default 100 and 250)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from workbench.github.sync import STATUS_QUERY

    points, nodes = github_cost(STATUS_QUERY, {})
    print(f"{platform.python_version()}, {os.cpu_count()} CPUs, median of {args.repeat}")
    print(f"one status request, by GitHub's documented rules: {points} points, <= {nodes:,} nodes")
    print(
        "| own PRs | GraphQL requests | status refresh | of it, the server | client | "
        "`prs --mine --json` process | blocking entries |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for n in args.prs or [100, 250]:
        r = measure(n, args.repeat)
        assert r["stored"] == n, r
        print(
            f"| {n} | {r['requests']} | {r['wall_s']:.2f} s | {r['server_s']:.2f} s | "
            f"{r['client_s']:.2f} s | {r['read_s']:.2f} s | {r['blocking_entries']:,} |"
        )
        rows.append(r)
    print()
    print(
        "| own PRs | with a failing check | compare requests | commits read | GraphQL requests "
        "| points | wall | of it, the server | next sync |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['prs']} | {r['failing_prs']} | {r['compares']} | {r['commits_read']} | "
            f"{r['base_requests'] - r['compares']} | {r['base_points']} | {r['base_s']:.2f} s | "
            f"{r['base_server_s']:.2f} s | {r['again_requests']} requests |"
        )


if __name__ == "__main__":
    main()
