"""Did the two sides compute the same thing? The timed callable's return value, compared.

A case's callable is called once per side on the same seeded inputs, and what it returns is
compared: tensors (and tuples, lists and dicts of them) element by element, anything else by
equality. The answer is one of

- ``bitwise``: the same bits (NaNs in the same places count as equal);
- ``close``: not the same bits, but within the case's ``tolerance`` (``@bench(tolerance=...)``),
  or, where the case declares none, ``torch.testing.assert_close``'s default tolerance for the
  dtype (exact for integer and float8 dtypes);
- ``differ``: beyond it, or another shape, dtype or structure (``detail`` says which);
- ``n/a``: nothing to compare (the callable returns None, or its value cannot be kept).

The SQNR is torchao's ``compute_error``: ``20 * log10(||baseline|| / ||baseline - patched||)``
in dB, the worst over the tensors compared; None when nothing differs.

Runs inside the measured environments (``worker.py``): the standard library, and torch only
when the value holds tensors.
"""

from __future__ import annotations

import math
import pickle
import sys
from pathlib import Path
from typing import Any

BITWISE, CLOSE, DIFFER, NA = "bitwise", "close", "differ", "n/a"
_RANK = {BITWISE: 0, NA: 0, CLOSE: 1, DIFFER: 2}

DEFAULT_TOLERANCE = {
    # torch.testing.assert_close's defaults (rtol, atol); any other dtype is compared exactly.
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (1e-3, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


def _torch() -> Any:
    return sys.modules.get("torch")


def _is_tensor(value: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def to_host(value: Any) -> Any:
    """The value with every tensor detached and moved to the CPU (CUDA outputs too)."""
    if _is_tensor(value):
        return value.detach().cpu()
    if isinstance(value, (list, tuple)):
        items = [to_host(v) for v in value]
        return type(value)(items) if type(value) in (list, tuple) else items
    if isinstance(value, dict):
        return {k: to_host(v) for k, v in value.items()}
    return value


def save(value: Any, path: Path) -> str | None:
    """Keep a side's output for the other side to compare with; a reason when it cannot be."""
    value = to_host(value)
    try:
        torch = _torch()
        if torch is not None:
            torch.save(value, path)
        else:
            path.write_bytes(pickle.dumps(value))
    except Exception as exc:  # an output that cannot be kept is not comparable, not a failure
        return f"the output cannot be kept ({type(exc).__name__}: {exc})"
    return None


def load(path: Path) -> Any:
    torch = _torch()
    if torch is not None:
        return torch.load(path, weights_only=False)
    return pickle.loads(path.read_bytes())


def _type_name(value: Any) -> str:
    if _is_tensor(value):
        return f"tensor{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
    return type(value).__name__


class _Result:
    def __init__(self) -> None:
        self.match = BITWISE
        self.max_abs = 0.0
        self.sqnr: float | None = None
        self.details: list[str] = []
        self.compared = 0

    def worse(self, match: str, detail: str | None = None) -> None:
        if _RANK[match] > _RANK[self.match]:
            self.match = match
        if detail and len(self.details) < 3:
            self.details.append(detail)

    def doc(self) -> dict[str, Any]:
        match = self.match if self.compared else NA
        detail = "; ".join(self.details)
        if not self.compared and not detail:
            detail = "nothing to compare"
        return {
            "match": match,
            # JSON has no infinity: an inf or NaN difference is None, the detail says which.
            "max_abs_diff": self.max_abs if math.isfinite(self.max_abs) else None,
            "sqnr_db": None if self.sqnr is None else round(self.sqnr, 2),
            "detail": detail or ("the same bits" if match == BITWISE else ""),
        }


def _tensors(ref: Any, new: Any, where: str, tol: tuple[float, float] | None, out: _Result) -> None:
    torch = _torch()
    name = where or "output"
    if ref.shape != new.shape or ref.dtype != new.dtype:
        out.compared += 1
        out.worse(DIFFER, f"{name}: {_type_name(ref)} became {_type_name(new)}")
        return
    out.compared += 1
    a, b = ref.contiguous(), new.contiguous()
    if a.is_quantized:
        a, b = a.dequantize(), b.dequantize()
    same = a.numel() == 0 or bool(
        torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))
    )
    if same:
        return
    x = a.to(torch.complex128 if a.is_complex() else torch.float64)
    y = b.to(x.dtype)
    both_nan = torch.isnan(x) & torch.isnan(y)
    diff = torch.where(both_nan, torch.zeros_like(x), x - y)
    abs_diff = diff.abs()
    finite = torch.isfinite(abs_diff)
    max_abs = float(abs_diff[finite].max()) if bool(finite.any()) else math.inf
    if not bool(finite.all()):
        max_abs = math.inf
    out.max_abs = max(out.max_abs, max_abs)
    noise = float(torch.linalg.vector_norm(diff)) if math.isfinite(max_abs) else math.inf
    signal = float(torch.linalg.vector_norm(torch.where(both_nan, torch.zeros_like(x), x)))
    if noise > 0 and math.isfinite(noise) and signal > 0:
        sqnr = 20 * math.log10(signal / noise)
        out.sqnr = sqnr if out.sqnr is None else min(out.sqnr, sqnr)
    rtol, atol = (
        tol
        if tol is not None
        else DEFAULT_TOLERANCE.get(str(a.dtype).replace("torch.", ""), (0.0, 0.0))
    )
    allowed = atol + rtol * y.abs()
    within = bool(((abs_diff <= allowed) | both_nan).all())
    differing = int(((abs_diff > 0) & ~both_nan).sum())
    text = f"{name}: {differing} of {a.numel()} elements differ, max abs diff {max_abs:.3g}"
    out.worse(CLOSE if within else DIFFER, text)


def _walk(ref: Any, new: Any, where: str, tol: tuple[float, float] | None, out: _Result) -> None:
    if _is_tensor(ref) or _is_tensor(new):
        if not (_is_tensor(ref) and _is_tensor(new)):
            out.compared += 1
            out.worse(DIFFER, f"{where or 'output'}: {_type_name(ref)} became {_type_name(new)}")
            return
        _tensors(ref, new, where, tol, out)
        return
    if isinstance(ref, (list, tuple)) and isinstance(new, (list, tuple)):
        if len(ref) != len(new):
            out.compared += 1
            out.worse(DIFFER, f"{where or 'output'}: {len(ref)} items became {len(new)}")
            return
        for i, (a, b) in enumerate(zip(ref, new, strict=True)):
            _walk(a, b, f"{where}[{i}]", tol, out)
        return
    if isinstance(ref, dict) and isinstance(new, dict):
        if set(ref) != set(new):
            out.compared += 1
            out.worse(
                DIFFER,
                f"{where or 'output'}: keys {sorted(map(str, ref))} became {sorted(map(str, new))}",
            )
            return
        for k in ref:
            _walk(ref[k], new[k], f"{where}[{k!r}]", tol, out)
        return
    if ref is None and new is None:
        return
    out.compared += 1
    if type(ref) is not type(new):
        out.worse(DIFFER, f"{where or 'output'}: {_type_name(ref)} became {_type_name(new)}")
        return
    try:
        equal = bool(ref == new)
    except Exception:
        equal = False
    if equal:
        return
    if isinstance(ref, float) and isinstance(new, float):
        diff = abs(ref - new)
        out.max_abs = max(out.max_abs, diff)
        rtol, atol = tol if tol is not None else DEFAULT_TOLERANCE["float64"]
        if diff <= atol + rtol * abs(new):
            out.worse(CLOSE, f"{where or 'output'}: {ref!r} became {new!r}")
            return
    out.worse(DIFFER, f"{where or 'output'}: {_short(ref)} became {_short(new)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def compare(ref: Any, new: Any, tolerance: dict[str, float] | None = None) -> dict[str, Any]:
    """The ``outputs`` entry of a case: ``ref`` is the baseline's value, ``new`` the patched."""
    tol = None
    if tolerance:
        tol = (float(tolerance.get("rtol", 0.0)), float(tolerance.get("atol", 0.0)))
    out = _Result()
    _walk(ref, new, "", tol, out)
    if not out.compared and ref is None and new is None:
        return {"match": NA, "max_abs_diff": 0.0, "sqnr_db": None, "detail": "returns None"}
    return out.doc()


def not_comparable(detail: str) -> dict[str, Any]:
    return {"match": NA, "max_abs_diff": None, "sqnr_db": None, "detail": detail}


def short(outputs: dict | None) -> str:
    """A table cell: "bitwise", "close (SQNR 61.3 dB)", "differ: SQNR 31.2 dB"."""
    if not outputs:
        return "–"
    match = outputs.get("match", NA)
    sqnr = outputs.get("sqnr_db")
    if match == BITWISE:
        return "bitwise"
    if match == CLOSE:
        return f"close (SQNR {sqnr:.1f} dB)" if sqnr is not None else "close"
    if match == DIFFER:
        if sqnr is not None:
            return f"differ: SQNR {sqnr:.1f} dB"
        detail = str(outputs.get("detail") or "").split(";")[0]
        return f"differ: {detail}" if detail else "differ"
    return "n/a"
