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
A case whose device is missing calls :func:`skip`. This module uses the standard library only:
it is imported inside the environments being measured.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
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
) -> F: ...


@overload
def bench(
    func: None = None,
    *,
    params: dict[str, list[Any]] | None = None,
    bytes_moved: Figure = None,
    flops: Figure = None,
    name: str | None = None,
) -> Callable[[F], F]: ...


def bench(
    func: F | None = None,
    *,
    params: dict[str, list[Any]] | None = None,
    bytes_moved: Figure = None,
    flops: Figure = None,
    name: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a benchmark (usable bare or with keyword arguments)."""

    def mark(f: F) -> F:
        for key, values in (params or {}).items():
            if not isinstance(values, (list, tuple)) or not values:
                raise TypeError(f"@bench params[{key!r}] must be a non-empty list")
        spec = BenchSpec(
            name=name or f.__name__,
            func=f,
            params={k: list(v) for k, v in (params or {}).items()},
            bytes_moved=bytes_moved,
            flops=flops,
        )
        setattr(f, _MARK, spec)
        return f

    return mark(func) if func is not None else mark


def specs_in(namespace: dict[str, Any]) -> list[BenchSpec]:
    """The benchmarks defined in a module's namespace, in definition order."""
    return [getattr(v, _MARK) for v in namespace.values() if hasattr(v, _MARK)]
