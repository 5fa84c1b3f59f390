"""The ``@bench`` decorator: benchmarks are plain functions that set up and return a callable.

    from workbench.bench import bench

    @bench(params={"n": [1024, 65536], "dtype": ["float32", "bfloat16"]},
           bytes_moved=lambda n, dtype: n * 4 * 2)
    def quantize(n, dtype):
        import torch
        from torchao.quantization.quant_primitives import quantize_affine
        x = torch.randn(n, dtype=getattr(torch, dtype))
        ...
        return lambda: quantize_affine(x, ...)

Each combination of ``params`` is one case. ``bytes_moved`` and ``flops`` are numbers or
functions of the params; with them the report gives achieved GB/s, TFLOP/s and % of peak.
A case whose device is missing calls :func:`skip`. ``tolerance`` (``{"atol": ..., "rtol": ...}``)
is how far the patched kernels' outputs may move from the baseline's in ``workbench codegen``
(default: exactly equal). A Triton kernel with no CPU path to record a launch from is declared
with :func:`kernel_spec` at module level, so that ``workbench codegen`` can still compile it::

    SPECS = [kernel_spec("torchao.kernel.intmm_triton:matmul_kernel",
                         args={"a_ptr": "*bf16", "M": 1024, "BLOCK_M": 128},
                         options={"num_warps": 8})]

This module uses the standard library only: it is imported inside the environments being measured.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, overload

Number = int | float
Figure = Number | Callable[..., Number] | None
F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__workbench_bench__"
"""The attribute ``@bench`` sets on a function: its :class:`BenchSpec`."""


class Skip(Exception):
    """Raised by a benchmark that cannot run here (e.g. no CUDA device)."""


def skip(reason: str) -> None:
    raise Skip(reason)


@dataclass(frozen=True)
class BenchSpec:
    name: str
    func: Callable[..., Callable[[], Any]]
    params: dict[str, list[Any]] = field(default_factory=dict)
    bytes_moved: Figure = None
    flops: Figure = None
    tolerance: dict[str, float] | None = None

    def cases(self) -> list[Case]:
        if not self.params:
            return [Case(self, {})]
        keys = list(self.params)
        return [
            Case(self, dict(zip(keys, values, strict=True)))
            for values in itertools.product(*(self.params[k] for k in keys))
        ]


@dataclass(frozen=True)
class Case:
    spec: BenchSpec
    params: dict[str, Any]

    @property
    def id(self) -> str:
        if not self.params:
            return self.spec.name
        inner = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.spec.name}[{inner}]"

    def figure(self, which: str) -> float | None:
        value = getattr(self.spec, which)
        if value is None:
            return None
        return float(value(**self.params) if callable(value) else value)

    @property
    def device(self) -> str:
        return str(self.params.get("device", "cpu"))


@overload
def bench(
    func: F,
    *,
    params: dict[str, list[Any]] | None = None,
    bytes_moved: Figure = None,
    flops: Figure = None,
    name: str | None = None,
    tolerance: dict[str, float] | None = None,
) -> F: ...


@overload
def bench(
    func: None = None,
    *,
    params: dict[str, list[Any]] | None = None,
    bytes_moved: Figure = None,
    flops: Figure = None,
    name: str | None = None,
    tolerance: dict[str, float] | None = None,
) -> Callable[[F], F]: ...


def bench(
    func: F | None = None,
    *,
    params: dict[str, list[Any]] | None = None,
    bytes_moved: Figure = None,
    flops: Figure = None,
    name: str | None = None,
    tolerance: dict[str, float] | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a benchmark (usable bare or with keyword arguments)."""

    def mark(f: F) -> F:
        for key, values in (params or {}).items():
            if not isinstance(values, (list, tuple)) or not values:
                raise TypeError(f"@bench params[{key!r}] must be a non-empty list")
        if tolerance is not None and (
            not isinstance(tolerance, dict) or set(tolerance) - {"atol", "rtol"}
        ):
            raise TypeError('@bench tolerance must be a dict with "atol" and/or "rtol"')
        spec = BenchSpec(
            name=name or f.__name__,
            func=f,
            params={k: list(v) for k, v in (params or {}).items()},
            bytes_moved=bytes_moved,
            flops=flops,
            tolerance=dict(tolerance) if tolerance else None,
        )
        setattr(f, _MARK, spec)
        return f

    return mark(func) if func is not None else mark


def bench_module_name(file: str) -> str:
    """The name a bench file is imported under: ``workbench_bench_`` and its stem."""
    return f"workbench_bench_{Path(file).stem}"


def load_bench_file(file: str) -> ModuleType:
    """Import the bench file ``file`` as the module :func:`bench_module_name` names, registered
    in ``sys.modules``."""
    spec = importlib.util.spec_from_file_location(bench_module_name(file), file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def specs_in(namespace: dict[str, Any]) -> list[BenchSpec]:
    """The benchmarks defined in a module's namespace, in definition order."""
    return [getattr(v, _MARK) for v in namespace.values() if hasattr(v, _MARK)]


@dataclass(frozen=True)
class KernelSpec:
    """A specialization of a Triton kernel to compile without recording a launch of it."""

    kernel: str
    """``module:qualname`` of the ``@triton.jit`` function (autotune/heuristics wrappers too)."""
    args: dict[str, Any]
    """Every parameter by name: ``"*fp32"`` for a pointer (``"*fp32:unaligned"``), a number for
    a scalar (its value decides the specialization), the value of a constexpr
    (``"tl.float32"`` for a ``tl.dtype``)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Compiler options such as ``num_warps`` and ``num_stages``."""
    name: str | None = None


def kernel_spec(
    kernel: str,
    *,
    args: dict[str, Any],
    options: dict[str, Any] | None = None,
    name: str | None = None,
) -> KernelSpec:
    """Declare a kernel specialization in a bench file (see the module's docstring)."""
    module, _, qualname = kernel.partition(":")
    if not module or not qualname:
        raise TypeError(f"kernel_spec({kernel!r}): give it as 'package.module:kernel_name'")
    if not isinstance(args, dict):
        raise TypeError("kernel_spec args must be a dict of parameter name to value")
    return KernelSpec(kernel, dict(args), dict(options or {}), name)


def kernel_specs_in(namespace: dict[str, Any]) -> list[KernelSpec]:
    """The kernel specs a bench file declares at module level (alone or in lists)."""
    found: list[KernelSpec] = []
    for value in namespace.values():
        items = value if isinstance(value, (list, tuple)) else [value]
        found += [v for v in items if isinstance(v, KernelSpec)]
    return found
