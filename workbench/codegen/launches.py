"""Kernel launches as data: what the recorder writes and the compiler reads (standard library only).

A launch's arguments are kept as the compiler specializes them: a tensor by its dtype and whether
its address is 16-byte aligned, a number by its value, a ``tl.dtype`` by its name. The inputs and
outputs themselves go to a ``.pt`` file beside, for the differential check.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

TRITON_TO_TORCH = {
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "fp64": "float64",
    "fp8e4nv": "float8_e4m3fn",
    "fp8e5": "float8_e5m2",
    "fp8e4b8": "float8_e4m3fnuz",
    "fp8e5b16": "float8_e5m2fnuz",
    "i1": "bool",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
}
"""Triton's pointer element names (``*fp32``) and the torch dtypes a stand-in tensor carries."""


def encode(value: Any) -> Any:
    """One argument as JSON: what the compiler's specialization looks at, nothing more."""
    if hasattr(value, "data_ptr") and hasattr(value, "dtype"):
        dtype = str(value.dtype).removeprefix("torch.")
        return {"tensor": dtype, "aligned": value.data_ptr() % 16 == 0}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    kind = type(value).__name__
    module = type(value).__module__ or ""
    if module.startswith("triton") and kind == "constexpr":
        return {"constexpr": encode(value.value)}
    if module.startswith("triton") and kind == "dtype":
        return {"tl_dtype": value.name}
    if isinstance(value, (tuple, list)):
        return {"tuple": [encode(v) for v in value]}
    return {"unsupported": f"{module}.{kind}"}


def pointer(spec: str) -> dict[str, Any] | None:
    """A declared pointer type (``"*fp32"``, ``"*bf16:unaligned"``) as an encoded tensor."""
    if not spec.startswith("*"):
        return None
    name, _, flag = spec[1:].partition(":")
    if name not in TRITON_TO_TORCH:
        raise ValueError(f"unknown pointer type {spec!r}: one of *{', *'.join(TRITON_TO_TORCH)}")
    return {"tensor": TRITON_TO_TORCH[name], "aligned": flag != "unaligned"}


def spec_key(kernel: str, args: list, kwargs: dict, constexpr: set[str], names: list[str]) -> str:
    """Launches that compile alike share a key: a runtime int only by what the compiler
    specializes on (equal to 1, divisible by 16, fits in 32 bits), everything else exactly."""

    def norm(name: str | None, value: Any) -> Any:
        if name not in constexpr and isinstance(value, int) and not isinstance(value, bool):
            return ["int", value == 1, value % 16 == 0, -(2**31) <= value < 2**31]
        if name not in constexpr and isinstance(value, float):
            return ["float"]
        return value

    shown = [norm(names[i] if i < len(names) else None, v) for i, v in enumerate(args)]
    named = {k: norm(k, v) for k, v in sorted(kwargs.items())}
    text = json.dumps([kernel, shown, named], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
