"""One side of a before/after benchmark, run inside the environment being measured.

Started as a script (``python .../workbench/bench/worker.py FILE``) by the runner, in the baseline
or the patched environment, so it needs nothing but the standard library (torch when the
benchmark uses it). It answers JSON requests, one per line, on a private pipe: anything the
benchmark prints goes to stderr and cannot corrupt the protocol.

The process is a fork server: it imports the bench file and the modules its benchmarks import
(torch, the upstream), once, then forks a fresh child for every visit of a case (``fork``), and
passes the case's requests to that child until ``end``. Every visit thus starts from the state a
fresh interpreter has after its imports, whatever cases ran before; CUDA is only ever initialised
in a child. What a child cannot re-draw is what the parent fixed before the fork (the memory
allocator's state after the imports, for one): the runner therefore starts several of these
processes per side and treats each as one independent unit of evidence.

Timing: CPU cases time batches of ``number`` calls with ``perf_counter_ns`` and the garbage
collector off; CUDA cases time each call with its own pair of CUDA events after flushing the L2
cache (zeroing a 256 MiB buffer), as ``triton.testing.do_bench`` does. The untimed probe call
traces which changed code the case runs (``calltrace.py``).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import json
import os
import platform
import random
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

HERE = Path(__file__).resolve().parent
PACKAGE_PARENT = HERE.parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)  # this folder's modules must not shadow the environment's
if str(PACKAGE_PARENT) not in sys.path:
    sys.path.append(str(PACKAGE_PARENT))  # last: the environment's own packages win

from workbench.bench import outputs  # noqa: E402
from workbench.bench.api import Case, Skip, load_bench_file, specs_in  # noqa: E402
from workbench.bench.calltrace import CallTracer  # noqa: E402

if TYPE_CHECKING:
    import torch

L2_FLUSH_BYTES = 256 * 1024 * 1024


def load_cases(file: str) -> dict[str, Case]:
    module = load_bench_file(file)
    cases: dict[str, Case] = {}
    for s in specs_in(vars(module)):
        for case in s.cases():
            cases[case.id] = case
    return cases


def preload(file: str) -> None:
    """Import what the bench file's functions import (``import torch`` inside a benchmark), so
    that every forked child starts with those imports done. Failures are left to the child,
    where the case reports them."""
    try:
        tree = ast.parse(Path(file).read_text())
    except (OSError, SyntaxError):
        return
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    for name in dict.fromkeys(names):
        # A failure is raised again in the child, with its case.
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def environment(threads: int | None) -> dict:
    info: dict = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "pythonpath_first": (os.environ.get("PYTHONPATH") or "").split(os.pathsep)[0] or None,
        # glibc malloc settings the process started with (the runner's --allocator).
        "malloc": {
            k: v
            for k, v in sorted(os.environ.items())
            if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"
        },
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


LAZY_UNTIMED = (
    "the timed call runs no XLA computation (ExecuteTime did not move), so it would time graph "
    "tracing only: keep the result alive and end the call with torch_xla.sync() and "
    "torch_xla.core.xla_model.wait_device_ops()"
)


def lazy_work_untimed(fn: Callable[[], object]) -> str | None:
    """For a lazy device (torch_xla): one call of ``fn`` must execute a compiled graph, or the
    bench times the tracing of a graph that never runs (a result dropped before the sync)."""
    if "torch_xla" not in sys.modules:
        return None
    try:
        import torch_xla.debug.metrics as met  # type: ignore[import-not-found]
    except ImportError:
        return None

    def executed() -> int:
        data = met.metric_data("ExecuteTime")
        return int(data[0]) if data else 0

    before = executed()
    fn()
    return None if executed() > before else LAZY_UNTIMED


def seed_everything(seed: int = 0) -> None:
    """The same random inputs on both sides, whatever a case forgets to seed."""
    random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)  # CUDA's generators too
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)


class BenchServer:
    def __init__(self, file: str, threads: int | None):
        self.cases = load_cases(file)
        self.threads = threads
        self.fns: dict[str, Callable[[], object]] = {}
        self._flush: torch.Tensor | None = None

    def _set_threads(self) -> None:
        torch = sys.modules.get("torch")
        if torch is not None and self.threads:
            torch.set_num_threads(self.threads)

    def setup(self, case_id: str) -> dict:
        case = self.cases[case_id]
        self._set_threads()
        seed_everything()
        try:
            fn = case.spec.func(**case.params)
        except Skip as exc:
            return {"ok": False, "skip": str(exc)}
        if not callable(fn):
            return {"ok": False, "error": f"{case.spec.name} must return the callable to time"}
        problem = lazy_work_untimed(fn)
        if problem:
            return {"ok": False, "error": f"{case.spec.name}: {problem}"}
        self.fns[case_id] = fn
        self._set_threads()
        # Collect once and freeze what set-up made: later collections (none run while timing)
        # then skip those objects, and no round pays for a full collection of torch's heap.
        gc.collect()
        gc.freeze()
        return {"ok": True}

    def probe(
        self,
        case_id: str,
        watch: dict[str, str],
        save_to: str | None = None,
        compare_with: str | None = None,
    ) -> dict:
        """Set the case up and call it once, untimed: which watched code that runs (``watch``:
        absolute file → the upstream's relative path), and the output, kept (``save_to``, the
        baseline) or compared with the one kept (``compare_with``, the patched side)."""
        tracer = CallTracer(watch)
        tracer.start()
        try:
            reply = self.setup(case_id)
            if not reply.get("ok"):
                return reply
            tracer.hook_triton()  # triton may have been imported by the set-up
            seed_everything()
            value = self.fns[case_id]()
            if self._cuda(case_id):
                import torch

                torch.cuda.synchronize()
        finally:
            tracer.stop()
        reply = {"ok": True, **tracer.found()}
        if save_to:
            reason = outputs.save(value, Path(save_to))
            if reason:
                reply["outputs"] = outputs.not_comparable(reason)
        if compare_with:
            tolerance = self.cases[case_id].spec.tolerance
            if Path(compare_with).is_file():
                reply["outputs"] = outputs.compare(
                    outputs.load(Path(compare_with)), value, tolerance
                )
            else:
                reply["outputs"] = outputs.not_comparable("the baseline's output could not be kept")
        return reply

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
        faults = _minor_faults()
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
        # Page faults per call: a process whose allocator hands out fresh pages on every call
        # is several times slower than one that reuses them (seen on torch CPU cases).
        per_call = (_minor_faults() - faults) / (len(samples) * number)
        return {"ok": True, "samples": samples, "warmup_calls": warm, "faults_per_call": per_call}

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
        if op == "probe":
            return self.probe(
                req["case"], req.get("watch") or {}, req.get("save_to"), req.get("compare_with")
            )
        if op == "calibrate":
            return self.calibrate(req["case"], req["min_batch_ns"])
        if op == "round":
            return self.round(
                req["case"], req["number"], req["warmup_ns"], req["target_ns"], req["min_samples"]
            )
        if op == "env":
            return {"ok": True, "env": environment(self.threads)}
        return {"ok": False, "error": f"unknown request {op!r}"}


def serve(worker: BenchServer, requests: Iterable[str], replies: TextIO) -> None:
    """Answer requests, one JSON object per line, until ``quit`` or the end of input."""
    for line in requests:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") in ("quit", "end"):
            break
        try:
            reply = worker.handle(req)
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc(limit=-3)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


class Child:
    """A forked child serving one visit of a case over its own pair of pipes."""

    def __init__(self, worker: BenchServer, proto: TextIO, stdin_fd: int):
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its own pipes only
            code = 0
            try:
                os.close(from_parent)
                os.close(to_parent)
                proto.close()
                os.close(stdin_fd)
                requests = os.fdopen(to_child, "r")
                replies = os.fdopen(from_child, "w", buffering=1)
                replies.write(json.dumps({"ok": True, "pid": os.getpid()}) + "\n")
                replies.flush()
                serve(worker, requests, replies)
            except BaseException:
                code = 1
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(to_child)
        os.close(from_child)
        self.pid = pid
        self.status: int | None = None
        self.requests = os.fdopen(from_parent, "w", buffering=1)
        self.replies = os.fdopen(to_parent, "r")

    def ask(self, line: str) -> str:
        try:
            self.requests.write(line if line.endswith("\n") else line + "\n")
            self.requests.flush()
        except OSError:
            pass
        reply = self.replies.readline()
        if reply:
            return reply
        status = self.end()
        return json.dumps({"ok": False, "error": f"the forked child exited ({status})"})

    def end(self) -> int:
        if self.status is None:
            for f in (self.requests, self.replies):
                with contextlib.suppress(OSError):
                    f.close()
            _, status = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(status)
        return self.status


def main() -> None:
    file = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else None
    # The protocol owns the original stdout; the benchmark's prints go to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        worker = BenchServer(file, threads)
        preload(file)
        # What the imports made is collected once and frozen: children then leave those pages
        # shared instead of touching them all with their first collection.
        gc.collect()
        gc.freeze()
        proto.write(json.dumps({"ok": True, "ready": True}) + "\n")
    except BaseException:
        proto.write(json.dumps({"ok": False, "error": traceback.format_exc(limit=-3)}) + "\n")
        return
    child: Child | None = None
    for line in sys.stdin:
        if not line.strip():
            continue
        op = json.loads(line).get("op")
        if op == "quit":
            break
        if op == "fork":
            if child is not None:
                child.end()
            if not hasattr(os, "fork"):
                reply = json.dumps({"ok": False, "error": "this platform has no os.fork"})
            else:
                child = Child(worker, proto, sys.stdin.fileno())
                reply = child.replies.readline() or json.dumps(
                    {"ok": False, "error": f"the forked child exited ({child.end()})"}
                )
        elif op == "end":
            code = child.end() if child is not None else 0
            child = None
            reply = json.dumps({"ok": True, "exit": code})
        elif op == "list":  # needs no child: the cases are known once the file is loaded
            reply = json.dumps(worker.handle({"op": "list"}))
        elif child is None:  # the parent never runs a case itself
            reply = json.dumps({"ok": False, "error": f"{op!r} needs a forked child first"})
        else:
            reply = child.ask(line)
        proto.write(reply.rstrip("\n") + "\n")
    if child is not None:
        child.end()


if __name__ == "__main__":
    main()
