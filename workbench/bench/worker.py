"""One side of a before/after benchmark, run inside the environment being measured.

Started as a script (``python .../workbench/bench/worker.py FILE``) by the runner, in the baseline
or the patched environment, so it needs nothing but the standard library (torch when the
benchmark uses it). It answers JSON requests, one per line, on a private pipe: anything the
benchmark prints goes to stderr and cannot corrupt the protocol.

Timing: CPU cases time batches of ``number`` calls with ``perf_counter_ns`` and the garbage
collector off; CUDA cases time each call with its own pair of CUDA events after flushing the L2
cache (zeroing a 256 MiB buffer), as ``triton.testing.do_bench`` does.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_PARENT = HERE.parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)  # this folder's modules must not shadow the environment's
if str(PACKAGE_PARENT) not in sys.path:
    sys.path.append(str(PACKAGE_PARENT))  # last: the environment's own packages win

from workbench.bench.api import Case, Skip, specs_in  # noqa: E402

L2_FLUSH_BYTES = 256 * 1024 * 1024


def load_cases(file: str) -> dict[str, Case]:
    spec = importlib.util.spec_from_file_location(f"workbench_bench_{Path(file).stem}", file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    cases: dict[str, Case] = {}
    for s in specs_in(vars(module)):
        for case in s.cases():
            cases[case.id] = case
    return cases


def environment(threads: int | None) -> dict:
    info: dict = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "pythonpath_first": (os.environ.get("PYTHONPATH") or "").split(os.pathsep)[0] or None,
        "modules": {},
    }
    for name in ("torch", "triton", "torchao", "torch_xla", "numpy"):
        mod = sys.modules.get(name)
        if mod is not None:
            info["modules"][name] = {
                "version": getattr(mod, "__version__", None),
                "file": getattr(mod, "__file__", None),
            }
    torch = sys.modules.get("torch")
    info["threads"] = torch.get_num_threads() if torch is not None else threads
    if torch is not None and torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
        info["cuda_version"] = torch.version.cuda
    return info


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


class Worker:
    def __init__(self, file: str, threads: int | None):
        self.cases = load_cases(file)
        self.threads = threads
        self.fns: dict[str, object] = {}
        self._flush = None

    def _set_threads(self) -> None:
        torch = sys.modules.get("torch")
        if torch is not None and self.threads:
            torch.set_num_threads(self.threads)

    def setup(self, case_id: str) -> dict:
        case = self.cases[case_id]
        self._set_threads()
        try:
            fn = case.spec.func(**case.params)
        except Skip as exc:
            return {"ok": False, "skip": str(exc)}
        if not callable(fn):
            return {"ok": False, "error": f"{case.spec.name} must return the callable to time"}
        self.fns[case_id] = fn
        self._set_threads()
        # Collect once and freeze what set-up made: later collections (none run while timing)
        # then skip those objects, and no round pays for a full collection of torch's heap.
        gc.collect()
        gc.freeze()
        return {"ok": True}

    def _cuda(self, case_id: str) -> bool:
        return self.cases[case_id].device.startswith("cuda")

    def calibrate(self, case_id: str, min_batch_ns: int) -> dict:
        """The smallest batch size (1, 2, 5, 10, …) whose batch takes at least min_batch_ns."""
        fn = self.fns[case_id]
        if self._cuda(case_id):
            return {"ok": True, "number": 1}
        fn()
        number = 1
        while True:
            t0 = time.perf_counter_ns()
            for _ in range(number):
                fn()
            dt = time.perf_counter_ns() - t0
            if dt >= min_batch_ns or number >= 10**7:
                return {"ok": True, "number": number, "per_call_ns": dt / number}
            # timeit's autorange: 1, 2, 5, 10, 20, 50, ...
            number = number * 5 // 2 if str(number)[0] == "2" else number * 2

    def round(
        self, case_id: str, number: int, warmup_ns: int, target_ns: int, min_samples: int
    ) -> dict:
        if self._cuda(case_id):
            return self._round_cuda(case_id, warmup_ns, target_ns, min_samples)
        fn = self.fns[case_id]
        perf = time.perf_counter_ns
        end = perf() + warmup_ns
        warm = 0
        while True:
            fn()
            warm += 1
            if perf() >= end:
                break
        samples: list[float] = []
        gc.disable()
        try:
            start = perf()
            while True:
                t0 = perf()
                for _ in range(number):
                    fn()
                t1 = perf()
                samples.append((t1 - t0) / number)
                if len(samples) >= min_samples and t1 - start >= target_ns:
                    break
        finally:
            gc.enable()
        return {"ok": True, "samples": samples, "warmup_calls": warm}

    def _round_cuda(self, case_id: str, warmup_ns: int, target_ns: int, min_samples: int) -> dict:
        import torch

        fn = self.fns[case_id]
        if self._flush is None:
            self._flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device="cuda")
        torch.cuda.synchronize()
        end = time.perf_counter_ns() + warmup_ns
        warm = 0
        while True:
            fn()
            warm += 1
            torch.cuda.synchronize()
            if time.perf_counter_ns() >= end:
                break
        starts, ends = [], []
        gc.disable()
        try:
            t_start = time.perf_counter_ns()
            while True:
                self._flush.zero_()
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                fn()
                e.record()
                starts.append(s)
                ends.append(e)
                if len(starts) % 16 == 0:
                    torch.cuda.synchronize()
                    if len(starts) >= min_samples and time.perf_counter_ns() - t_start >= target_ns:
                        break
            torch.cuda.synchronize()
        finally:
            gc.enable()
        samples = [s.elapsed_time(e) * 1e6 for s, e in zip(starts, ends, strict=True)]
        return {"ok": True, "samples": samples, "warmup_calls": warm}

    def handle(self, req: dict) -> dict:
        op = req["op"]
        if op == "list":
            return {
                "ok": True,
                "cases": [
                    {
                        "id": c.id,
                        "bench": c.spec.name,
                        "params": {
                            k: repr(v) if not isinstance(v, (int, float, str)) else v
                            for k, v in c.params.items()
                        },
                        "device": c.device,
                        "bytes_moved": c.figure("bytes_moved"),
                        "flops": c.figure("flops"),
                    }
                    for c in self.cases.values()
                ],
            }
        if op == "setup":
            return self.setup(req["case"])
        if op == "calibrate":
            return self.calibrate(req["case"], req["min_batch_ns"])
        if op == "round":
            return self.round(
                req["case"], req["number"], req["warmup_ns"], req["target_ns"], req["min_samples"]
            )
        if op == "env":
            return {"ok": True, "env": environment(self.threads)}
        return {"ok": False, "error": f"unknown request {op!r}"}


def main() -> None:
    file = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else None
    # The protocol owns the original stdout; the benchmark's prints go to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        worker = Worker(file, threads)
        proto.write(json.dumps({"ok": True, "ready": True}) + "\n")
    except BaseException:
        proto.write(json.dumps({"ok": False, "error": traceback.format_exc(limit=-3)}) + "\n")
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        try:
            reply = worker.handle(req)
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc(limit=-3)}
        proto.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
