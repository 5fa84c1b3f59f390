"""``workbench codegen NAME``: record, compile and compare both sides; write ``codegen.json``.

The sides run in their own environments (the ones ``NAME_build`` makes): first the baseline's
recorder, then, while the baseline compiles, the patched recorder, which also replays the
baseline's inputs through the patched kernels; then the patched compile. A launch is paired with
the other side's by bench case, kernel and ordinal, so a series that changes a launch's
constexprs (a block size) compares the kernel as each side launches it.

Starting each side's recorder and compiler is :mod:`workbench.codegen.sides`; this module runs
them in that order and compares what they wrote.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.codegen import kernels as jit
from workbench.codegen import stages
from workbench.codegen.sides import Side, finish_compile, record, start_compile
from workbench.vocabulary import BASELINE, PATCHED, Log

SCHEMA = 1


# --- pairing and comparing -----------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "kernel"


def pairs(base: dict, patched: dict) -> list[dict]:
    """Distinct (baseline variant, patched variant) pairs of each kernel, with launch counts."""
    by_side: dict[tuple, dict[str, str]] = {}
    for label, doc in ((BASELINE, base), (PATCHED, patched)):
        for launch in doc["launches"]:
            slot = (launch["case"], launch["kernel"], launch["ordinal"])
            by_side.setdefault(slot, {})[label] = launch["key"]
    found: dict[tuple, dict] = {}
    for (case, kernel, _), keys in by_side.items():
        k = (kernel, keys.get(BASELINE), keys.get(PATCHED))
        row = found.setdefault(
            k, {"kernel": kernel, BASELINE: k[1], PATCHED: k[2], "launches": 0, "cases": []}
        )
        row["launches"] += 1
        if case not in row["cases"]:
            row["cases"].append(case)
    for doc in (base, patched):
        for d in doc.get("declared") or []:
            ref = f"spec:{d['name']}"
            k = (d["kernel"], ref, ref)
            found.setdefault(
                k,
                {
                    "kernel": d["kernel"],
                    BASELINE: ref,
                    PATCHED: ref,
                    "launches": 0,
                    "cases": [],
                    "declared": True,
                },
            )
    return list(found.values())


def _read(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _with_occupancy(target: str, result: dict | None) -> dict | None:
    """The NVIDIA result's figures with its theoretical warps per SM (worked out here, so that
    compiles cached before it was added have it too)."""
    if result is None or not target.startswith("sm_"):
        return result
    f = result.get("figures") or {}
    if not all(isinstance(f.get(k), int) for k in ("registers", "shared_bytes", "num_warps")):
        return result
    warps = stages.warps_per_sm(
        int(target[3:].rstrip("a")), f["registers"], f["shared_bytes"], f["num_warps"]
    )
    return result if warps is None else {**result, "figures": {**f, "warps_per_sm": warps}}


def compare_target(target: str, b: dict | None, p: dict | None, diff_dir: Path, rel: str) -> dict:
    """One kernel variant for one target: status, per-stage changes and diffs, figures."""
    b, p = _with_occupancy(target, b), _with_occupancy(target, p)
    if b is None or p is None:
        one = b or p
        assert one is not None
        return {
            "status": "only-baseline" if p is None else "only-patched",
            "figures": {
                k: [v, None] if p is None else [None, v]
                for k, v in (one.get("figures") or {}).items()
            },
            "error": one.get("error"),
        }
    if b["status"] != "ok" or p["status"] != "ok":
        if b["status"] != "ok" and p["status"] != "ok":
            status = "error-both"
        else:
            status = "error-patched" if p["status"] != "ok" else "error-baseline"
        return {
            "status": status,
            "error": {BASELINE: b.get("error"), PATCHED: p.get("error")},
        }
    out_stages: dict[str, dict] = {}
    for stage in stages.STAGES:
        before, after = _read(b["stages"].get(stage)), _read(p["stages"].get(stage))
        if before is None and after is None:
            continue
        if before == after:
            out_stages[stage] = {"changed": False}
            continue
        diff = list(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                f"baseline/{stage}",
                f"patched/{stage}",
                n=3,
            )
        )
        diff_dir.mkdir(parents=True, exist_ok=True)
        file = diff_dir / f"{stage}.diff"
        file.write_text("".join(diff))
        out_stages[stage] = {
            "changed": True,
            "lines": _changed_lines(diff),
            # The same comparison with value and register names masked: renumbering alone is 0.
            "lines_beyond_names": _changed_lines(
                difflib.unified_diff(
                    stages.mask_names(stage, before or "").splitlines(),
                    stages.mask_names(stage, after or "").splitlines(),
                    n=0,
                )
            ),
            "diff": f"{rel}/{stage}.diff",
        }
    figures = {}
    fb, fp = b.get("figures") or {}, p.get("figures") or {}
    for name in stages.FIGURES:
        if name in fb or name in fp:
            figures[name] = [fb.get(name), fp.get(name)]
    changed = any(s["changed"] for s in out_stages.values())
    return {
        "status": "changed" if changed else "unchanged",
        "stages": out_stages,
        "figures": figures,
        "specialization": {side: _spec(r) for side, r in ((BASELINE, b), (PATCHED, p))},
    }


def compiler_message(error: str | None) -> str:
    """The line of a compile error that says what is wrong.

    Triton's ``CompilationError`` starts with ``at LINE:COL:``, then quotes the kernel's source
    down to a caret, then the error itself; the first line alone says nothing.
    """
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    if not lines:
        return "no message"
    first, last = lines[0], lines[-1].strip()
    where = re.match(r"(\w+Error): at (\d+:\d+):$", first.strip())
    if where and len(lines) > 1 and last.strip("^ "):
        return f"{last[:300]} (at {where.group(2)} of the kernel)"
    return first[:300]


def _changed_lines(diff: Iterable[str]) -> int:
    return sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def _spec(result: dict) -> dict:
    return {
        "signature": result.get("signature"),
        "constexprs": result.get("constexprs"),
        "options": result.get("options"),
    }


def _results(compiled: dict) -> dict[str, dict]:
    return {r["ref"]: r for r in compiled["results"]}


@dataclass
class CodegenPlan:
    """What a run compares: the sides, the bench files, the targets, the changed files."""

    name: str
    sides: dict[str, Side]
    files: list[Path]
    targets: list[str]
    changed_files: list[str]
    folder: Path
    cache: Path
    only: str | None = None
    hide: tuple[str, ...] = ()


def run(plan: CodegenPlan, log: Log) -> dict:
    started = time.perf_counter()
    base, patched = plan.sides[BASELINE], plan.sides[PATCHED]
    rec_dir = plan.folder / "record"
    hide = [str(s.worktree) for s in plan.sides.values()] + list(plan.hide)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    log("recording the baseline's launches under the interpreter")
    base_rec = record(base, plan.files, rec_dir / BASELINE, plan.cache, None, plan.only)
    timings["record_baseline"] = time.perf_counter() - t
    base_proc = start_compile(base, base_rec, plan.targets, rec_dir / BASELINE, plan.cache, hide)
    t = time.perf_counter()
    log("recording the patched side's launches and replaying the baseline's inputs")
    try:
        patched_rec = record(
            patched, plan.files, rec_dir / PATCHED, plan.cache, rec_dir / BASELINE, plan.only
        )
    except BaseException:
        base_proc[0].kill()
        raise
    timings["record_patched"] = time.perf_counter() - t
    t = time.perf_counter()
    log(f"compiling for {', '.join(plan.targets)}")
    patched_proc = start_compile(
        patched, patched_rec, plan.targets, rec_dir / PATCHED, plan.cache, hide
    )
    base_out = finish_compile(base, *base_proc)
    patched_out = finish_compile(patched, *patched_proc)
    timings["compile"] = time.perf_counter() - t
    replayed = json.loads((rec_dir / PATCHED / "replay.json").read_text())
    doc = compare(plan, base_rec, patched_rec, base_out, patched_out, replayed)
    timings["total"] = time.perf_counter() - started
    doc["timings"] = {k: round(v, 2) for k, v in timings.items()}
    return doc


def _relative(file: str | None, plan: CodegenPlan) -> str | None:
    if not file:
        return None
    for side in plan.sides.values():
        try:
            return str(Path(file).resolve().relative_to(side.worktree.resolve()))
        except ValueError:
            continue
    for f in plan.files:
        if Path(file).resolve() == f.resolve():
            return f"{f.parent.name}/{f.name}"
    return Path(file).name


def compare(
    plan: CodegenPlan,
    base_rec: dict,
    patched_rec: dict,
    base_out: dict,
    patched_out: dict,
    replayed: list[dict],
) -> dict:
    results = {BASELINE: _results(base_out), PATCHED: _results(patched_out)}
    idents = {**base_rec["kernels"], **patched_rec["kernels"]}
    replay_by_key = {r["key"]: r for r in replayed}
    kernels: dict[str, dict] = {}
    findings: list[str] = []
    # One finding per kernel, side and message, however many targets and specializations.
    broken: dict[tuple[str, str, str], dict[str, set[int]]] = {}
    for index, pair in enumerate(pairs(base_rec, patched_rec)):
        kid = pair["kernel"]
        qual = kid.partition(":")[2]
        ident = idents.get(kid) or {"qualname": qual, "name": qual.rpartition(".")[2]}
        k = kernels.setdefault(
            kid,
            {
                "id": kid,
                "name": ident.get("name") or qual,
                "qualname": ident.get("qualname"),
                "file": _relative(ident.get("file"), plan),
                "variants": [],
            },
        )
        b_row = results[BASELINE].get(pair[BASELINE] or "")
        p_row = results[PATCHED].get(pair[PATCHED] or "")
        variant: dict[str, Any] = {
            BASELINE: pair[BASELINE],
            PATCHED: pair[PATCHED],
            "launches": pair["launches"],
            "cases": pair["cases"][:6],
            "declared": bool(pair.get("declared")),
            "targets": {},
        }
        for label, row in ((BASELINE, b_row), (PATCHED, p_row)):
            if row is not None and row.get("error"):
                variant.setdefault("errors", {})[label] = row["error"]
        rel = f"diffs/{_slug(k['name'])}-{index}"
        for target in plan.targets:
            b = (b_row or {}).get("targets", {}).get(target) if b_row else None
            p = (p_row or {}).get("targets", {}).get(target) if p_row else None
            if b is None and p is None:
                continue
            res = compare_target(target, b, p, plan.folder / rel / target, f"{rel}/{target}")
            variant["targets"][target] = res
            if res["status"] in ("error-patched", "error-baseline"):
                side = PATCHED if res["status"] == "error-patched" else BASELINE
                message = compiler_message(res["error"].get(side))
                broken.setdefault((k["name"], side, message), {}).setdefault(target, set()).add(
                    index
                )
        r = replay_by_key.get(pair[BASELINE] or "")
        if r is not None:
            variant["replay"] = {x: r.get(x) for x in ("status", "detail", "tolerance")}
            if r["status"] in ("differs", "error"):
                findings.append(
                    f"{k['name']}: the patched kernel's outputs differ from the baseline's on "
                    f"the same inputs ({(r.get('detail') or '')[:200]})"
                    if r["status"] == "differs"
                    else f"{k['name']}: the patched kernel fails on the baseline's inputs: "
                    f"{r.get('detail')}"
                )
        k["variants"].append(variant)
    failed = []
    for (name, side, message), where in broken.items():
        targets = [t for t in plan.targets if t in where]
        variants = len(set().union(*where.values()))
        specs = f", {variants} specializations" if variants > 1 else ""
        failed.append(
            f"{name} fails to compile on the {side} side only ({', '.join(targets)}{specs}): "
            f"{message}"
        )
    findings[:0] = failed
    for k in kernels.values():
        statuses = {t["status"] for v in k["variants"] for t in v["targets"].values()}
        replays = {v.get("replay", {}).get("status") for v in k["variants"]} - {None}
        k["status"] = _kernel_status(statuses, replays)
    uncovered = _uncovered(plan, kernels, base_rec, patched_rec)
    for u in uncovered:
        if not u["helper"]:
            findings.append(
                f"{u['qualname']} ({u['file']}) {u['how']} by the series but no launch of it was "
                f"recorded: {u['what_to_add']}"
            )
    cases = _cases(base_rec, patched_rec)
    summary = {
        "kernels": len(kernels),
        "changed": sum(1 for k in kernels.values() if k["status"] == "changed"),
        "unchanged": sum(1 for k in kernels.values() if k["status"] == "unchanged"),
        "errors": sum(1 for k in kernels.values() if k["status"].startswith("error")),
        "outputs_differ": sum(1 for r in replayed if r["status"] in ("differs", "error")),
        "outputs_same": sum(1 for r in replayed if r["status"] == "same"),
        "uncovered": sum(1 for u in uncovered if not u["helper"]),
    }
    return {
        "schema": SCHEMA,
        "kind": "codegen",
        "upstream": plan.name,
        "device": "cpu",
        "targets": plan.targets,
        "triton": {BASELINE: base_out.get("triton"), PATCHED: patched_out.get("triton")},
        "compile": {
            side: {k: out.get(k) for k in ("compiled", "cached", "seconds")}
            for side, out in ((BASELINE, base_out), (PATCHED, patched_out))
        },
        "cases": cases,
        "kernels": sorted(kernels.values(), key=lambda k: (k["status"] == "unchanged", k["name"])),
        "uncovered": uncovered,
        "findings": findings,
        "summary": summary,
    }


def _kernel_status(statuses: set[str], replays: set[str]) -> str:
    for bad in ("error-patched", "error-baseline"):
        if bad in statuses:
            return bad
    if replays & {"differs", "error"}:
        return "outputs-differ"
    if "changed" in statuses or statuses & {"only-baseline", "only-patched"}:
        return "changed"
    if "error-both" in statuses:
        return "error-both"  # a spec or the pin that does not compile: shown, not hidden
    return "unchanged" if statuses else "not-compiled"


def _cases(base_rec: dict, patched_rec: dict) -> list[dict]:
    rows: dict[str, dict] = {}
    for label, doc in ((BASELINE, base_rec), (PATCHED, patched_rec)):
        for c in doc["cases"]:
            row = rows.setdefault(
                c["id"] or c["file"], {"id": c["id"], "file": Path(c["file"]).name}
            )
            if c.get("skipped"):
                row[label] = f"skipped: {c['skipped']}"
            elif c.get("error"):
                row[label] = "error: " + c["error"].strip().splitlines()[-1][:300]
            else:
                row[label] = f"{c.get('launches', 0)} launch(es)"
    return list(rows.values())


def _uncovered(plan: CodegenPlan, kernels: dict, base_rec: dict, patched_rec: dict) -> list[dict]:
    """Changed JIT functions that no recorded launch compiles, with what to add."""
    changes = jit.changed_jit_functions(
        plan.sides[BASELINE].worktree, plan.sides[PATCHED].worktree, plan.changed_files
    )
    launched = {(k["id"].partition(":")[0], k["qualname"]) for k in kernels.values()}
    by_name = {k["qualname"].rpartition(".")[2]: k for k in kernels.values() if k["qualname"]}
    reach: set[str] = set()
    for doc in (base_rec, patched_rec):
        for ident in doc["kernels"].values():
            file = ident.get("file")
            if not file:
                continue
            defs = jit.defs_in(Path(file))
            frontier = [d for d in defs.values() if d.qualname == ident["qualname"]]
            while frontier:
                d = frontier.pop()
                for c in d.calls - reach:
                    reach.add(c)
                    frontier += [e for e in defs.values() if e.name == c]
    out = []
    for ch in changes:
        if ch.how == "removed":
            continue
        modules = jit.module_names(ch.file)
        if any((m, ch.qualname) in launched for m in modules):
            continue
        if ch.name in reach and ch.name not in by_name:
            continue  # a helper that a recorded kernel calls: its diff shows there
        module = modules[0] if modules else ch.file
        add = (
            f"add a bench case to upstreams/{plan.name}/benches/ that launches it on the CPU, or "
            f'declare kernel_spec("{module}:{ch.qualname}", args={{...}}) in a bench file'
        )
        out.append(
            {
                "file": ch.file,
                "qualname": ch.qualname,
                "line": ch.line,
                "how": ch.how,
                "helper": ch.helper,
                "what_to_add": add
                if not ch.helper
                else "a helper: no recorded kernel calls it, so no compiled code shows its change",
            }
        )
    return out
