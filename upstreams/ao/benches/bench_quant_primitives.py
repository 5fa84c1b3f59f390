"""torchao's affine quantization primitives, CPU and CUDA.

`quantize_affine` and `choose_qparams_affine` from `torchao.quantization.quant_primitives`, per
row groups of 256 elements, asymmetric uint8. Bytes moved: the input read once plus the uint8
output (scales and zero points are 1/256 of that and left out).
"""

from workbench.bench import bench, skip

SIZES = [2**16, 2**21]
DTYPES = ["float32", "bfloat16"]
DEVICES = ["cpu", "cuda"]
GROUP = 256


def _input(n: int, dtype: str, device: str):
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        skip("needs CUDA")
    torch.manual_seed(0)
    return torch.randn(n // GROUP, GROUP, dtype=getattr(torch, dtype), device=device)


def _itemsize(dtype: str) -> int:
    return 4 if dtype == "float32" else 2


@bench(
    params={"n": SIZES, "dtype": DTYPES, "device": DEVICES},
    bytes_moved=lambda n, dtype, device: n * _itemsize(dtype) + n,
)
def quantize_affine(n, dtype, device):
    import torch
    from torchao.quantization.quant_primitives import (
        MappingType,
        choose_qparams_affine,
        quantize_affine,
    )

    x = _input(n, dtype, device)
    block = (1, GROUP)
    scale, zero_point = choose_qparams_affine(x, MappingType.ASYMMETRIC, block, torch.uint8)
    return lambda: quantize_affine(x, block, scale, zero_point, torch.uint8)


@bench(
    params={"n": SIZES, "dtype": DTYPES, "device": DEVICES},
    bytes_moved=lambda n, dtype, device: n * _itemsize(dtype),
)
def choose_qparams_affine(n, dtype, device):
    import torch
    from torchao.quantization.quant_primitives import MappingType, choose_qparams_affine

    x = _input(n, dtype, device)
    block = (1, GROUP)
    return lambda: choose_qparams_affine(x, MappingType.ASYMMETRIC, block, torch.uint8)
