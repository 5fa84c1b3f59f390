"""Compile recorded (or declared) kernel launches for GPU targets, in a process with no GPU.

Started as a script inside one side's environment, without the interpreter::

    python .../workbench/codegen/compiler.py JOBS.json RESULTS.json

``JOBS.json`` holds the side's ``launches.json`` variants and declared specs, the targets, the
cache folder and the paths to hide. Each kernel is found as the upstream defines it (imported by
module and name, or, for a kernel defined inside a function, caught at its launch by running the
bench case with launches stubbed out), specialized the way ``JITFunction.run`` does it with the
backend of the target, and given to ``triton.compile`` with that target, so no driver is asked.

The cache is keyed by the kernel's source (triton's own ``cache_key``: the function and every
JIT function it calls), the specialization, the options, the target and the triton package (its
version and the hash of its Python files, which a patch to the compiler's Python layer changes).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE_PARENT = HERE.parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)
if str(PACKAGE_PARENT) not in sys.path:
    sys.path.append(str(PACKAGE_PARENT))

from workbench.codegen import stages  # noqa: E402
from workbench.codegen.launches import pointer  # noqa: E402


def parse_target(name: str) -> Any:
    from triton.backends.compiler import GPUTarget

    if name.startswith("sm_"):
        return GPUTarget("cuda", int(name[3:].rstrip("a")), 32)
    if name.startswith("gfx"):
        return GPUTarget("hip", name, 64 if name.startswith("gfx9") else 32)
    raise ValueError(f"unknown target {name!r}: sm_NN for NVIDIA, gfxNNN for AMD")


def triton_hash() -> str:
    """The triton package as the compiler sees it: its version and its Python files."""
    import triton

    root = Path(triton.__file__).parent
    h = hashlib.sha256(triton.__version__.encode())
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    for lib in sorted(root.glob("_C/*.so")):
        st = lib.stat()
        h.update(f"{lib.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


class _Pointer:
    """What the specialization reads from a tensor argument: its dtype and its address."""

    def __init__(self, dtype: Any, aligned: bool) -> None:
        self.dtype = dtype
        self._ptr = 0 if aligned else 8

    def data_ptr(self) -> int:
        return self._ptr


def decode(value: Any) -> Any:
    import torch
    import triton.language as tl

    if isinstance(value, dict):
        if "tensor" in value:
            return _Pointer(getattr(torch, value["tensor"]), value.get("aligned", True))
        if "tl_dtype" in value:
            return tl.dtype(value["tl_dtype"])
        if "constexpr" in value:
            return tl.constexpr(decode(value["constexpr"]))
        if "tuple" in value:
            return tuple(decode(v) for v in value["tuple"])
        raise ValueError(f"an argument of type {value.get('unsupported')} cannot be compiled")
    return value


def decode_declared(value: Any) -> Any:
    """A declared spec's value: ``"*fp32"`` a pointer, ``"tl.float32"`` a tl.dtype."""
    import triton.language as tl

    if isinstance(value, str) and value.startswith("*"):
        return decode(pointer(value))
    if isinstance(value, str) and value.startswith("tl."):
        return getattr(tl, value[3:])
    return value


def unwrap(obj: Any) -> Any:
    from triton.runtime.jit import JITFunction

    while not isinstance(obj, JITFunction) and hasattr(obj, "fn"):
        obj = obj.fn
    return obj if isinstance(obj, JITFunction) else None


class Locator:
    """The JITFunction of a kernel id, as this side's code defines it."""

    def __init__(self) -> None:
        self.found: dict[str, Any] = {}
        self.ran: set[tuple[str, str]] = set()

    def get(self, kid: str, bench_file: str | None, case: str | None) -> Any:
        if kid in self.found:
            return self.found[kid]
        module_name, _, qualname = kid.partition(":")
        if "<locals>" not in qualname:
            try:
                if module_name.startswith("workbench_bench_") and bench_file:
                    obj = self._bench_module(bench_file)
                else:
                    obj = importlib.import_module(module_name)
                for part in qualname.split("."):
                    obj = getattr(obj, part)
                self.found[kid] = unwrap(obj)
                return self.found[kid]
            except Exception:
                pass
        if bench_file and case and (bench_file, case) not in self.ran:
            self._catch_launches(bench_file, case)
        return self.found.get(kid)

    def _bench_module(self, file: str) -> Any:
        from workbench.bench.api import bench_module_name, load_bench_file

        name = bench_module_name(file)
        if name in sys.modules:
            return sys.modules[name]
        return load_bench_file(file)

    def _catch_launches(self, file: str, case_id: str) -> None:
        """Run the case with every launch stubbed out, keeping the kernels it launches."""
        from triton.runtime.jit import JITFunction

        self.ran.add((file, case_id))
        from workbench.bench.api import specs_in

        module = self._bench_module(file)
        original = JITFunction.run
        found = self.found

        def catch(self: Any, *args: Any, grid: Any, warmup: bool, **kwargs: Any) -> None:
            found.setdefault(f"{self.fn.__module__}:{self.fn.__qualname__}", self)
            return None

        JITFunction.run = catch
        try:
            for spec in specs_in(vars(module)):
                for case in spec.cases():
                    if case.id == case_id:
                        with contextlib.suppress(Exception), contextlib.redirect_stdout(sys.stderr):
                            spec.func(**case.params)()
        finally:
            JITFunction.run = original


def specialize(fn: Any, target: Any, args: list, kwargs: dict) -> tuple[Any, dict, dict, dict]:
    """What JITFunction.run computes before it compiles, with the backend of ``target``."""
    from triton.compiler.compiler import make_backend
    from triton.runtime.jit import create_function_from_signature

    backend = make_backend(target)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, options = binder(*args, **kwargs)
    return fn._pack_args(backend, kwargs, bound, specialization, options)


def figures_of(asm: dict[str, str], metadata: Any, ptxas_log: str) -> dict[str, int]:
    out: dict[str, int] = {}
    out.update(stages.ptxas_figures(ptxas_log))
    if "amdgcn" in asm:
        out.update(stages.amdgcn_figures(asm["amdgcn"]))
    for name in ("shared", "num_warps", "num_stages"):
        value = getattr(metadata, name, None)
        if isinstance(value, int):
            out["shared_bytes" if name == "shared" else name] = value
    return out


class Compiler:
    def __init__(self, cache: Path, hide: tuple[str, ...]) -> None:
        self.cache = cache
        self.hide = hide
        self.triton = triton_hash()
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.compiled = 0
        self.cached = 0

    def key(self, fn: Any, target: Any, sig: dict, constexprs: dict, attrs: dict, opts: Any) -> str:
        text = json.dumps(
            [
                fn.cache_key,
                sig,
                {str(k): repr(v) for k, v in constexprs.items()},
                {str(k): v for k, v in attrs.items()},
                opts.hash(),
                repr(target),
                self.triton,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def compile(
        self, fn: Any, target_name: str, args: list, kwargs: dict
    ) -> tuple[dict, Future | None]:
        """One kernel for one target: from the cache, or compiled now (SASS in the background)."""
        import triton
        from triton.compiler import ASTSource

        target = parse_target(target_name)
        sig_opts, signature, constexprs, attrs = specialize(fn, target, args, kwargs)
        key = self.key(fn, target, signature, constexprs, attrs, sig_opts)
        folder = self.cache / key[:2] / key
        done = folder / "result.json"
        if done.is_file():
            self.cached += 1
            return {**json.loads(done.read_text()), "cached": True}, None
        self.compiled += 1
        log = io.StringIO()
        started = time.perf_counter()
        try:
            with contextlib.redirect_stdout(log):
                kernel = triton.compile(
                    ASTSource(fn, signature, constexprs, attrs),
                    target=target,
                    options=sig_opts.__dict__,
                )
        except Exception as exc:
            message = str(exc).strip() or type(exc).__name__
            result: dict[str, Any] = {
                "key": key,
                "status": "error",
                "error": f"{type(exc).__name__}: {message}"[:6000],
                "signature": signature,
            }
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "result.json").write_text(json.dumps(result))
            return {**result, "cached": False}, None
        seconds = time.perf_counter() - started
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        asm = {k: v for k, v in kernel.asm.items() if isinstance(v, str)}
        for stage in stages.STAGES:
            if stage in asm:
                text = stages.normalize(stage, asm[stage], self.hide)
                (folder / f"{stage}.txt").write_text(text)
                files[stage] = str(folder / f"{stage}.txt")
        figures = figures_of(asm, kernel.metadata, log.getvalue())
        for stage in ("ptx", "amdgcn"):
            if stage in files:
                n = stages.instructions(stage, Path(files[stage]).read_text())
                figures[f"{stage}_instructions"] = n or 0
        result = {
            "key": key,
            "status": "ok",
            "signature": signature,
            "constexprs": {str(k): repr(v) for k, v in constexprs.items()},
            "options": {
                k: v
                for k, v in sig_opts.__dict__.items()
                if k in ("num_warps", "num_stages", "num_ctas", "maxnreg")
            },
            "ptxas_log": [
                line for line in log.getvalue().splitlines() if "ptxas" in line or "bytes" in line
            ],
            "figures": figures,
            "stages": files,
            "seconds": round(seconds, 4),
        }
        cubin = kernel.asm.get("cubin")
        pending: Future | None = None
        if isinstance(cubin, bytes):
            pending = self.pool.submit(self._sass, cubin, kernel.metadata.name, folder, result)
        else:
            (folder / "result.json").write_text(json.dumps(result))
        return {**result, "cached": False}, pending

    def _sass(self, cubin: bytes, name: str, folder: Path, result: dict) -> None:
        from triton.tools.disasm import get_sass

        try:
            text = stages.normalize("sass", get_sass(cubin), self.hide)
        except Exception as exc:
            result["sass_error"] = f"{type(exc).__name__}: {exc}"[:400]
        else:
            (folder / "sass.txt").write_text(text)
            result["stages"]["sass"] = str(folder / "sass.txt")
            result["figures"]["sass_instructions"] = stages.instructions("sass", text) or 0
        (folder / "result.json").write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    jobs = json.loads(Path(argv[0]).read_text())
    os.environ.pop("TRITON_INTERPRET", None)
    os.environ.setdefault("TRITON_DISABLE_LINE_INFO", "1")
    os.environ["TRITON_DUMP_PTXAS_LOG"] = "1"
    os.environ["TRITON_ALWAYS_COMPILE"] = "1"
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    import triton

    triton.knobs.runtime.interpret = False
    cache = Path(jobs["cache"])
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    compiler = Compiler(cache, tuple(jobs.get("hide") or ()))
    locator = Locator()
    results: list[dict] = []
    pending: list[Future] = []
    for job in jobs["jobs"]:
        row = {"ref": job["ref"], "kernel": job["kernel"], "targets": {}}
        results.append(row)
        fn = locator.get(job["kernel"], job.get("bench_file"), job.get("case"))
        if fn is None:
            row["error"] = (
                "the kernel could not be found on this side (not importable by its name, and "
                "not launched when its bench case ran)"
            )
            continue
        try:
            if job.get("declared"):
                args: list = []
                kwargs = {k: decode_declared(v) for k, v in job["args"].items()}
                kwargs.update(job.get("options") or {})
            else:
                args = [decode(a) for a in job["args"]]
                kwargs = {k: decode(v) for k, v in job["kwargs"].items()}
        except (ValueError, AttributeError, TypeError) as exc:
            row["error"] = f"cannot rebuild its arguments: {exc}"
            continue
        for target in jobs["targets"]:
            try:
                result, future = compiler.compile(fn, target, args, kwargs)
            except Exception as exc:
                result, future = (
                    {
                        "status": "error",
                        "error": f"{type(exc).__name__}: {exc}"[:6000],
                        "trace": traceback.format_exc(limit=-3)[-2000:],
                        "cached": False,
                    },
                    None,
                )
            row["targets"][target] = result
            if future is not None:
                pending.append(future)
    for future in pending:
        future.result()
    # The background SASS jobs filled in the results they were given; read them back whole.
    for row in results:
        for target, result in row["targets"].items():
            if result.get("status") == "ok" and not result.get("cached"):
                f = cache / result["key"][:2] / result["key"] / "result.json"
                row["targets"][target] = {**json.loads(f.read_text()), "cached": False}
    summary: dict[str, Any] = {
        "triton": triton.__version__,
        "triton_hash": compiler.triton,
        "compiled": compiler.compiled,
        "cached": compiler.cached,
        "seconds": round(time.perf_counter() - started, 3),
        "results": results,
    }
    Path(argv[1]).write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        code = main()
    raise SystemExit(code)
