"""torchao's INT8 matmul for quantized training (`torchao.prototype.quantized_training`).

`_scaled_int8_mm_kernel` computes `(A @ B) * row_scale * col_scale` with INT8 tensor cores; it
is registered for CUDA tensors only and autotuned over 27 configs. On a GPU the case times
`scaled_int8_mm`. On a machine without a GPU the case is skipped, and `SPECS` gives
`workbench codegen ao` one specialization of the kernel to compile for each GPU target (one of
the kernel's own configs, at a square shape), so a series that edits the kernel is compiled and
diffed without a GPU.
"""

from workbench.bench import bench, kernel_spec, skip

N = 4096

SPECS = [
    kernel_spec(
        "torchao.prototype.quantized_training.int8_mm:_scaled_int8_mm_kernel",
        name=f"scaled_int8_mm[{N}]",
        # Row-major INT8 A (M, K) and B (K, N); bf16 scales and output, as the op allocates.
        args={
            "A_ptr": "*i8",
            "B_ptr": "*i8",
            "C_ptr": "*bf16",
            "row_scale_ptr": "*bf16",
            "col_scale_ptr": "*bf16",
            "M": N,
            "N": N,
            "K": N,
            "stride_am": N,
            "stride_ak": 1,
            "stride_bk": N,
            "stride_bn": 1,
            "stride_cm": N,
            "stride_cn": 1,
            "BLOCK_M": 128,
            "BLOCK_N": 128,
            "BLOCK_K": 64,
            "GROUP_M": 8,
            "EVEN_K": True,
            "COL_SCALE_SCALAR": False,
        },
        options={"num_warps": 8, "num_stages": 3},
    )
]


@bench(params={"n": [1024, N]}, flops=lambda n: 2 * n**3)
def scaled_int8_mm(n):
    import torch

    if not torch.cuda.is_available():
        skip("needs CUDA (no CPU path; workbench codegen compiles the kernel from SPECS)")
    from torchao.prototype.quantized_training.int8_mm import scaled_int8_mm as mm

    a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda")
    b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device="cuda").T.contiguous().T
    row = torch.rand(n, dtype=torch.bfloat16, device="cuda")
    col = torch.rand(n, dtype=torch.bfloat16, device="cuda")
    mm(a, b, row, col)  # autotunes once, outside the timed calls
    return lambda: mm(a, b, row, col)
