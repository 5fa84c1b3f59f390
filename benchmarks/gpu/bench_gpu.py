"""Two CUDA cases for checking the harness against triton.testing.do_bench on a GPU."""

from workbench.bench import bench, skip

VEC_N = 2**26
MM = 4096


def _cuda():
    import torch

    if not torch.cuda.is_available():
        skip("needs CUDA")
    return torch


@bench(params={"device": ["cuda"]}, bytes_moved=lambda device: 3 * 4 * VEC_N)
def vector_add(device):
    torch = _cuda()
    import triton
    import triton.language as tl

    @triton.jit
    def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(
            out_ptr + offs,
            tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask),
            mask=mask,
        )

    x = torch.rand(VEC_N, device=device)
    y = torch.rand(VEC_N, device=device)
    out = torch.empty_like(x)
    grid = (triton.cdiv(VEC_N, 1024),)
    return lambda: add_kernel[grid](x, y, out, VEC_N, BLOCK=1024)


@bench(
    params={"device": ["cuda"], "dtype": ["bfloat16"]},
    flops=lambda device, dtype: 2 * MM**3,
    bytes_moved=lambda device, dtype: 3 * 2 * MM * MM,
)
def matmul(device, dtype):
    torch = _cuda()
    a = torch.randn(MM, MM, device=device, dtype=torch.bfloat16)
    b = torch.randn(MM, MM, device=device, dtype=torch.bfloat16)
    return lambda: a @ b
