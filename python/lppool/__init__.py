"""Lp-norm (power-average) pooling over 1-D signals on AOT-compiled Halide
kernels: a drop-in for torch.nn.LPPool1d / torch.nn.functional.lp_pool1d.

    y[n, c, j] = (sum_k |x[n, c, j*S + k]|^p)^(1/p)

Differences from PyTorch, on purpose: |x| is always taken; a ceil_mode
partial window is pooled over its in-bounds elements (no K/n rescaling);
windows that overflow or underflow in the plain formula are rescued.
Tensors (CPU, or CUDA when built with CUDA) and NumPy arrays cross with
DLPack, without copies, in any strides.
"""
import functools

import torch
from torch.utils import dlpack as _dlpack

from . import _lppool

__all__ = ["lp_pool1d", "LPPool1d", "set_num_threads"]

set_num_threads = _lppool.set_num_threads


@functools.lru_cache(maxsize=256)
def _cached_pool(norm_type, kernel_size, stride, ceil_mode):
    return _lppool.Pool(norm_type, kernel_size, stride, ceil_mode)


def _make_pool(norm_type, kernel_size, stride, ceil_mode):
    """The C++ pool, one per parameter set (lp_pool1d is called with the same
    few in a loop); invalid parameters raise ValueError here."""
    return _cached_pool(float(norm_type), int(kernel_size),
                        None if stride is None else int(stride), bool(ceil_mode))


def _capsule(t):
    try:
        # (detach() costs a microsecond and is needed only to drop autograd.)
        return _dlpack.to_dlpack(t.detach() if t.requires_grad else t)
    except RuntimeError as e:  # a dtype DLPack has no code for (bool, ...)
        raise TypeError(f"lppool: a {t.dtype} tensor cannot cross DLPack: {e}") from e


def _empty_like_layout(x, shape):
    """An empty tensor of `shape` (x's shape but for L) in x's memory order,
    so channels-last stays channels-last. (A contiguous x's outputs are made
    where they are used: x.new_empty, then their data pointer crosses.)"""
    # new_empty: x's dtype and device, at half the cost of torch.empty's keywords.
    order = sorted(range(x.dim()), key=lambda d: x.stride(d), reverse=True)
    permuted = x.new_empty([shape[d] for d in order])
    inverse = [order.index(d) for d in range(x.dim())]
    return permuted.permute(inverse)


def _forward(x, pool):
    # The C++ validation checks x (dtype, rank, length) before y exists. One
    # capsule of x serves both calls: the binding does not consume capsules.
    x_capsule = _capsule(x)
    shape = pool.output_shape(x_capsule)
    if x.is_contiguous():
        y = x.new_empty(shape)  # compact: its data pointer is all the kernel needs
        pool.forward_into_compact(x_capsule, y.data_ptr())
        return y
    y = _empty_like_layout(x, shape)
    pool.forward(x_capsule, _capsule(y))
    return y


class _LPPool1dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, pool):
        y = _forward(x, pool)
        ctx.save_for_backward(x, y)
        ctx.pool = pool
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, y = ctx.saved_tensors
        if x.is_contiguous():
            grad_x = x.new_empty(x.shape)  # compact: its data pointer is all the kernel needs
            ctx.pool.backward_into_compact(_capsule(x), _capsule(y), _capsule(grad_y),
                                           grad_x.data_ptr())
            return grad_x, None
        grad_x = _empty_like_layout(x, x.shape)
        ctx.pool.backward(_capsule(x), _capsule(y), _capsule(grad_y), _capsule(grad_x))
        return grad_x, None


def _numpy_lp_pool1d(x, pool):
    import numpy as np
    y = np.empty(pool.output_shape(x.__dlpack__()), dtype=x.dtype)
    pool.forward(x.__dlpack__(), y.__dlpack__())
    return y


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Lp pooling of a (N, C, L) or (C, L) tensor (or NumPy array) along L.
    Differentiable (our closed-form backward kernel) for tensors."""
    pool = _make_pool(norm_type, kernel_size, stride, ceil_mode)
    if not isinstance(x, torch.Tensor):
        return _numpy_lp_pool1d(x, pool)
    return _apply(x, pool)


def _apply(x, pool):
    # Without a gradient to track, autograd's Function machinery is skipped.
    if x.requires_grad and torch.is_grad_enabled():
        return _LPPool1dFunction.apply(x, pool)
    return _forward(x, pool)


class LPPool1d(torch.nn.Module):
    """Drop-in for torch.nn.LPPool1d(norm_type, kernel_size, stride, ceil_mode),
    on our kernels (forward and backward)."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode
        # Validates the parameters now (ValueError), not at the first call.
        self._pool = _make_pool(norm_type, kernel_size, stride, ceil_mode)

    def extra_repr(self):
        return self._pool.extra_repr()

    def forward(self, x):
        return _apply(x, self._pool)
