"""Run the bench cases under the Triton interpreter and record every kernel launch.

Started as a script inside one side's environment with ``TRITON_INTERPRET=1``::

    python .../workbench/codegen/recorder.py OUT_DIR BENCH.py... [--replay BASELINE_DIR]

Each case is set up and its timed callable called once, on the CPU. A launch is recorded by
kernel, case and ordinal; the first launches of each distinct specialization also keep their
inputs and outputs (``OUT_DIR/data/*.pt``). Autotuned kernels run every config once (the
interpreter has no timer to pick one with), so every config is recorded and compiled.

With ``--replay``, the baseline's kept inputs are then run through this side's kernels and the
outputs compared with the baseline's: ``replay.json``. Writes ``launches.json``; needs torch and
triton (the standard library otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import importlib
import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE_PARENT = HERE.parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)  # this folder's modules must not shadow the environment's
if str(PACKAGE_PARENT) not in sys.path:
    sys.path.append(str(PACKAGE_PARENT))  # last: the environment's own packages win

from workbench.bench.api import Skip, kernel_specs_in, load_bench_file, specs_in  # noqa: E402
from workbench.codegen.launches import encode, spec_key  # noqa: E402

KEEP_PER_KERNEL = 8
"""Distinct specializations per kernel whose inputs and outputs are kept for the replay."""
MAX_KEPT_BYTES = 256 * 1024 * 1024


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _clone(value: Any) -> Any:
    return value.detach().clone() if _is_tensor(value) else value


def kernel_identity(fn: Any) -> dict[str, Any]:
    """Where a kernel's Python function lives: the same on both sides for the same kernel."""
    try:
        file = inspect.getsourcefile(fn)
    except TypeError:
        file = None
    return {
        "id": f"{fn.__module__}:{fn.__qualname__}",
        "module": fn.__module__,
        "qualname": fn.__qualname__,
        "name": fn.__name__,
        "file": file,
        "line": fn.__code__.co_firstlineno,
    }


def constexpr_params(fn: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if "constexpr" in str(p.annotation)
    }


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.data = out / "data"
        self.active = False
        self.case: str | None = None
        self.bench_file: str | None = None
        self.tolerance: dict[str, float] | None = None
        self.trial = False
        self.launches: list[dict] = []
        self.variants: dict[str, dict] = {}
        self.kernels: dict[str, dict] = {}
        self.objects: dict[str, Any] = {}
        self.ordinals: dict[tuple[str, str], int] = {}
        self.kept: dict[str, int] = {}
        self.kept_bytes = 0

    def install(self) -> None:
        from triton.runtime.autotuner import Autotuner
        from triton.runtime.interpreter import InterpretedFunction

        original = InterpretedFunction.run
        recorder = self

        def run(self: Any, *args: Any, grid: Any, warmup: bool, **kwargs: Any) -> Any:
            if warmup or not recorder.active:
                return original(self, *args, grid=grid, warmup=warmup, **kwargs)
            entry = recorder.before(self, args, kwargs, grid)
            result = original(self, *args, grid=grid, warmup=warmup, **kwargs)
            recorder.after(entry, args, kwargs)
            return result

        InterpretedFunction.run = run
        order = iter(range(1, 1 << 30))

        def once(kernel_call: Any, quantiles: Any = None) -> list[float]:
            # No timer in the interpreter: run each config once; the first one "wins".
            recorder.trial = True
            try:
                kernel_call()
            finally:
                recorder.trial = False
            t = float(next(order))
            return [t, t, t]

        Autotuner.do_bench = property(lambda self: once)

    def before(self, interp: Any, args: tuple, kwargs: dict, grid: Any) -> dict:
        fn = interp.fn
        ident = kernel_identity(fn)
        kid = ident["id"]
        self.kernels.setdefault(kid, ident)
        self.objects[kid] = interp
        names = list(inspect.signature(fn).parameters)
        enc_args = [encode(a) for a in args]
        enc_kwargs = {k: encode(v) for k, v in kwargs.items()}
        key = spec_key(kid, enc_args, enc_kwargs, constexpr_params(fn), names)
        ordinal = self.ordinals.get((self.case or "", kid), 0)
        self.ordinals[(self.case or "", kid)] = ordinal + 1
        self.launches.append(
            {"case": self.case, "kernel": kid, "ordinal": ordinal, "key": key, "trial": self.trial}
        )
        entry: dict[str, Any] = {"key": key, "keep": False}
        if key in self.variants:
            return entry
        concrete = _grid(fn, grid, args, kwargs)
        variant = {
            "key": key,
            "kernel": kid,
            "case": self.case,
            "bench_file": self.bench_file,
            "args": enc_args,
            "kwargs": enc_kwargs,
            "grid": concrete,
            "trial": self.trial,
            "tolerance": self.tolerance,
            "data": None,
        }
        self.variants[key] = variant
        size = sum(a.numel() * a.element_size() for a in (*args, *kwargs.values()) if _is_tensor(a))
        if (
            concrete is not None
            and self.kept.get(kid, 0) < KEEP_PER_KERNEL
            and self.kept_bytes + 2 * size <= MAX_KEPT_BYTES
        ):
            self.kept[kid] = self.kept.get(kid, 0) + 1
            self.kept_bytes += 2 * size
            entry["keep"] = True
            entry["inputs"] = {
                "args": [_clone(a) for a in args],
                "kwargs": {k: _clone(v) for k, v in kwargs.items()},
                "grid": concrete,
            }
        elif concrete is None:
            variant["why_not_kept"] = "its grid could not be evaluated"
        else:
            variant["why_not_kept"] = "enough launches of this kernel are kept already"
        return entry

    def after(self, entry: dict, args: tuple, kwargs: dict) -> None:
        if not entry["keep"]:
            return
        import torch

        self.data.mkdir(parents=True, exist_ok=True)
        file = self.data / f"{entry['key']}.pt"
        outputs = _outputs(args, kwargs)
        torch.save({**entry["inputs"], "outputs": outputs}, file)
        self.variants[entry["key"]]["data"] = file.name


def _outputs(args: tuple | list, kwargs: dict) -> dict:
    return {
        "args": {i: _clone(a) for i, a in enumerate(args) if _is_tensor(a)},
        "kwargs": {k: _clone(v) for k, v in kwargs.items() if _is_tensor(v)},
    }


def _grid(fn: Any, grid: Any, args: tuple, kwargs: dict) -> list[int] | None:
    """The grid as the interpreter computes it (a callable gets the bound arguments)."""
    try:
        if callable(grid):
            spec = inspect.getfullargspec(fn)
            named = {k: v for k, v in kwargs.items() if k in spec.args or k in spec.kwonlyargs}
            grid = grid(inspect.getcallargs(fn, *args, **named))
        return [int(g) for g in grid]
    except Exception:
        return None


def run_cases(rec: Recorder, files: list[str], only: str | None) -> tuple[list[dict], list[dict]]:
    import torch

    cases: list[dict] = []
    declared: list[dict] = []
    for file in files:
        rec.bench_file = file
        try:
            module = load_bench_file(file)
        except Exception:
            cases.append({"file": file, "id": None, "error": traceback.format_exc(limit=-4)})
            continue
        for k in kernel_specs_in(vars(module)):
            declared.append(
                {
                    "kernel": k.kernel,
                    "args": {n: v for n, v in k.args.items()},
                    "options": k.options,
                    "name": k.name or k.kernel.rpartition(":")[2],
                    "bench_file": file,
                }
            )
        for spec in specs_in(vars(module)):
            for case in spec.cases():
                if only and only not in case.id and not fnmatch.fnmatch(case.id, only):
                    continue
                rec.case, rec.tolerance = case.id, spec.tolerance
                before = len(rec.launches)
                row: dict[str, Any] = {"file": file, "id": case.id}
                torch.manual_seed(0)
                rec.active = True
                try:
                    fn = case.spec.func(**case.params)
                    fn()
                except Skip as exc:
                    row["skipped"] = str(exc)
                except Exception:
                    row["error"] = traceback.format_exc(limit=-6)
                finally:
                    rec.active = False
                row["launches"] = len(rec.launches) - before
                cases.append(row)
    rec.case = None
    return cases, declared


def find_kernel(rec: Recorder, kid: str) -> Any:
    """This side's kernel for an id: the one its own cases launched, else by import."""
    if kid in rec.objects:
        return rec.objects[kid]
    from triton.runtime.interpreter import InterpretedFunction

    module_name, _, qualname = kid.partition(":")
    if "<locals>" in qualname:
        return None
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception:
        return None
    while not isinstance(obj, InterpretedFunction) and hasattr(obj, "fn"):
        obj = obj.fn
    return obj if isinstance(obj, InterpretedFunction) else None


def compare(expected: Any, got: Any, tolerance: dict[str, float] | None) -> str | None:
    """None when equal (exactly, or within the bench's tolerance), else what differs."""
    import torch

    if expected.shape != got.shape or expected.dtype != got.dtype:
        return f"shape/dtype {tuple(got.shape)}/{got.dtype}, baseline {tuple(expected.shape)}/{expected.dtype}"
    a, b = expected, got
    if "float8" in str(a.dtype) or a.dtype == torch.bool:
        a, b = a.float(), b.float()
    tol = tolerance or {}
    try:
        torch.testing.assert_close(
            b,
            a,
            atol=tol.get("atol", 0.0),
            rtol=tol.get("rtol", 0.0),
            equal_nan=True,
            check_device=False,
        )
    except AssertionError as exc:
        return " ".join(str(exc).split())
    return None


def replay(rec: Recorder, baseline: Path) -> list[dict]:
    import torch

    doc = json.loads((baseline / "launches.json").read_text())
    results = []
    for variant in doc["variants"]:
        if not variant.get("data"):
            continue
        row: dict[str, Any] = {"key": variant["key"], "kernel": variant["kernel"]}
        row["case"] = variant["case"]
        kernel = find_kernel(rec, variant["kernel"])
        if kernel is None:
            row["status"] = "missing"
            row["detail"] = "this side never launched the kernel and it cannot be imported"
            results.append(row)
            continue
        saved = torch.load(baseline / "data" / variant["data"], weights_only=False)
        args = [_clone(a) for a in saved["args"]]
        kwargs = {k: _clone(v) for k, v in saved["kwargs"].items()}
        try:
            kernel.run(*args, grid=tuple(saved["grid"]), warmup=False, **kwargs)
        except Exception as exc:
            row["status"] = "error"
            row["detail"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
            results.append(row)
            continue
        got = _outputs(args, kwargs)
        names = list(inspect.signature(kernel.fn).parameters)
        diffs = []
        for where in ("args", "kwargs"):
            for k, expected in saved["outputs"][where].items():
                why = compare(expected, got[where][k], variant.get("tolerance"))
                if why:
                    name = names[k] if where == "args" and k < len(names) else k
                    diffs.append(f"{name}: {why}")
        row["status"] = "differs" if diffs else "same"
        row["tolerance"] = variant.get("tolerance")
        if diffs:
            row["detail"] = "; ".join(diffs)[:1200]
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="recorder.py")
    p.add_argument("out", type=Path)
    p.add_argument("files", nargs="*")
    p.add_argument("--replay", type=Path)
    p.add_argument("--only")
    args = p.parse_args(argv)
    os.environ["TRITON_INTERPRET"] = "1"
    args.out.mkdir(parents=True, exist_ok=True)
    import triton  # the interpreter is chosen when triton is imported

    rec = Recorder(args.out)
    rec.install()
    with contextlib.redirect_stdout(sys.stderr):  # a bench's prints must not mix with ours
        cases, declared = run_cases(rec, args.files, args.only)
        replayed = replay(rec, args.replay) if args.replay else None
    doc = {
        "schema": 1,
        "triton": triton.__version__,
        "cases": cases,
        "declared": declared,
        "kernels": rec.kernels,
        "launches": rec.launches,
        "variants": list(rec.variants.values()),
    }
    (args.out / "launches.json").write_text(json.dumps(doc, indent=1, default=str))
    if replayed is not None:
        (args.out / "replay.json").write_text(json.dumps(replayed, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
