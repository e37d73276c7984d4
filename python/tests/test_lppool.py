"""pytest suite of the Python module: gradcheck, agreement with PyTorch where
the semantics agree, the documented differences, layouts, NumPy, errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lppool

torch.set_num_threads(2)

GRAD_GRID = [(p, K, S, ceil)
             for p in (0.5, 1.0, 1.5, 2.0, 3.0, 200.0)
             for (K, S) in ((2, 1), (3, 2), (4, 4), (3, 5))
             for ceil in (False, True)]


def away_from_zero(shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    magnitude = torch.rand(shape, generator=g, dtype=dtype) * 1.5 + 0.25
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0).to(dtype)
    return magnitude * sign


@pytest.mark.parametrize("p,K,S,ceil", GRAD_GRID)
def test_gradcheck_float64(p, K, S, ceil):
    x = away_from_zero((2, 3, 13), seed=int(p * 10) + K * 3 + S).requires_grad_()
    # p = 200 concentrates the gradient on each window's maximum; the finite
    # difference stays accurate in float64 with a smaller step.
    eps = 1e-7 if p > 100 else 1e-6
    assert torch.autograd.gradcheck(lambda t: lppool.lp_pool1d(t, p, K, S, ceil), (x,),
                                    eps=eps, atol=1e-5, rtol=1e-4)


TORCH_GRID = [(p, K, S) for p in (1.0, 2.0, 2.5, 3.0, 7.0) for (K, S) in ((4, 4), (3, 1), (5, 2), (2, 3))]


@pytest.mark.parametrize("p,K,S", TORCH_GRID)
def test_forward_and_backward_match_pytorch_on_abs(p, K, S):
    x = torch.randn(4, 5, 57, generator=torch.Generator().manual_seed(K * 7 + S), dtype=torch.float32)
    ours_x = x.clone().requires_grad_()
    torch_x = x.clone().requires_grad_()
    ours = lppool.lp_pool1d(ours_x, p, K, S)
    theirs = F.lp_pool1d(torch_x.abs(), p, K, S)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    weights = torch.randn_like(ours)
    (ours * weights).sum().backward()
    (theirs * weights).sum().backward()
    torch.testing.assert_close(ours_x.grad, torch_x.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_large_calls_on_openmp_threads_match_pytorch_bit_for_bit_across_counts(threads):
    # 1 MiB of input: past the runtime's serial threshold, so the kernels'
    # parallel loops run on the module's OpenMP loop.
    x = torch.randn(4, 16, 4096, generator=torch.Generator().manual_seed(5), dtype=torch.float32)
    weights = torch.randn(4, 16, (4096 - 5) // 3 + 1, generator=torch.Generator().manual_seed(6))
    results = []
    for count in (threads, 0):  # 0: OpenMP's count, torch's (2 here)
        lppool.set_num_threads(count)
        ours_x = x.clone().requires_grad_()
        ours = lppool.lp_pool1d(ours_x, 2.5, 5, 3)
        (ours * weights).sum().backward()
        results.append((ours.detach(), ours_x.grad))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    torch_x = x.clone().requires_grad_()
    theirs = F.lp_pool1d(torch_x.abs(), 2.5, 5, 3)
    (theirs * weights).sum().backward()
    torch.testing.assert_close(results[0][0], theirs.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[0][1], torch_x.grad, rtol=1e-4, atol=1e-5)


def test_module_is_a_drop_in():
    ours = lppool.LPPool1d(2, 4)
    theirs = torch.nn.LPPool1d(2, 4)
    x = torch.rand(3, 8, 64)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
    model = torch.nn.Sequential(torch.nn.Conv1d(8, 4, 3), lppool.LPPool1d(2.0, 3, 2), torch.nn.Flatten())
    out = model(x)
    out.sum().backward()
    assert model[0].weight.grad is not None and torch.isfinite(model[0].weight.grad).all()
    assert ours.extra_repr() == "norm_type=2.0, kernel_size=4, stride=4, ceil_mode=False"
    assert lppool.LPPool1d(2.5, 3, 1, True).extra_repr() == \
        "norm_type=2.5, kernel_size=3, stride=1, ceil_mode=True"


def test_difference_abs_is_always_applied():
    x = -torch.ones(1, 1, 6)
    ours = lppool.lp_pool1d(x, 1.0, 3)
    assert torch.equal(ours, torch.full((1, 1, 2), 3.0))
    # PyTorch pools the signed values: odd p of a negative sum.
    theirs = F.lp_pool1d(x, 1.0, 3)
    assert not torch.allclose(theirs, ours)


def test_difference_ceil_mode_partial_window_is_not_rescaled():
    x = torch.rand(2, 3, 11) + 0.5
    K, S, p = 4, 3, 2.0
    ours = lppool.lp_pool1d(x, p, K, S, ceil_mode=True)
    assert ours.shape[-1] == 3 + 1  # windows at 0, 3, 6 and the partial one at 9 (2 elements)
    partial = x[..., 9:]
    torch.testing.assert_close(ours[..., 3], partial.abs().pow(p).sum(-1).pow(1 / p))
    # PyTorch averages over K and multiplies by K, so its partial window is
    # the full-window formula over zero padding scaled by K / n_valid.
    theirs = F.lp_pool1d(x, p, K, S, ceil_mode=True)
    torch.testing.assert_close(ours[..., :3], theirs[..., :3], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours[..., 3], theirs[..., 3])


def test_difference_no_spurious_overflow():
    x = torch.full((1, 1, 4), 1e30, dtype=torch.float32)
    ours = lppool.lp_pool1d(x, 2.0, 4)
    assert torch.isfinite(ours).all()
    assert math.isclose(ours.item(), 2e30, rel_tol=1e-6)
    assert torch.isinf(F.lp_pool1d(x, 2.0, 4)).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_strided_and_channels_last_inputs(dtype):
    base = torch.randn(3, 16, 101, dtype=dtype)
    want = lppool.lp_pool1d(base.contiguous(), 2.5, 5, 2)
    channels_last = base.transpose(1, 2).contiguous().transpose(1, 2)
    assert channels_last.stride(1) == 1
    got = lppool.lp_pool1d(channels_last, 2.5, 5, 2)
    assert got.stride(1) == 1  # the output keeps the layout
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    wide = torch.randn(3, 16, 202, dtype=dtype)
    every_other = wide[..., ::2]
    assert not every_other.is_contiguous()
    torch.testing.assert_close(lppool.lp_pool1d(every_other, 2.5, 5, 2),
                               lppool.lp_pool1d(every_other.contiguous(), 2.5, 5, 2), rtol=0, atol=0)
    # Gradients through non-contiguous inputs (dx allocated in their layout)
    # are those of a contiguous copy (a compact dx), bit for bit.
    dy = torch.randn(3, 16, 49, dtype=dtype)
    contiguous = every_other.detach().clone().requires_grad_()
    strided = wide.detach().clone().requires_grad_()
    channels_last = contiguous.detach().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    for x in (contiguous, strided[..., ::2], channels_last):
        lppool.lp_pool1d(x, 2.0, 4, 2).backward(dy)
    assert contiguous.grad.is_contiguous() and channels_last.grad.stride(1) == 1
    torch.testing.assert_close(strided.grad[..., ::2], contiguous.grad, rtol=0, atol=0)
    torch.testing.assert_close(channels_last.grad, contiguous.grad, rtol=0, atol=0)


def test_rank_two_and_numpy():
    x = torch.rand(4, 33, dtype=torch.float64)
    ours = lppool.lp_pool1d(x, 3.0, 4, 2)
    assert ours.shape == (4, 15)
    from_numpy = lppool.lp_pool1d(x.numpy(), 3.0, 4, 2)
    assert isinstance(from_numpy, np.ndarray)
    np.testing.assert_array_equal(from_numpy, ours.numpy())


def test_seed_examples():
    assert lppool.lp_pool1d(torch.ones(1, 8, 16), 2, 4).shape == (1, 8, 4)
    assert lppool.lp_pool1d(torch.randn(2, 4, 12), 1, 3, 1).shape == (2, 4, 10)


def test_bad_arguments_raise():
    x = torch.rand(1, 2, 8)
    with pytest.raises(ValueError, match="norm_type"):
        lppool.LPPool1d(0.0, 2)
    with pytest.raises(ValueError, match="kernel_size"):
        lppool.lp_pool1d(x, 2.0, 0)
    with pytest.raises(ValueError, match="stride"):
        lppool.lp_pool1d(x, 2.0, 2, -1)
    with pytest.raises(ValueError, match="too short"):
        lppool.lp_pool1d(x, 2.0, 9)
    supported = "supported: float32, float64, float16 and bfloat16"
    with pytest.raises(TypeError, match="int32; " + supported):
        lppool.lp_pool1d(torch.ones(1, 2, 8, dtype=torch.int32), 2.0, 2)
    with pytest.raises(TypeError, match="complex64; " + supported):
        lppool.lp_pool1d(torch.ones(1, 2, 8, dtype=torch.complex64), 2.0, 2)
    with pytest.raises(TypeError, match="torch.bool"):
        lppool.lp_pool1d(torch.ones(1, 2, 8, dtype=torch.bool), 2.0, 2)
    with pytest.raises(ValueError, match=r"rank 2 \(C, L\) or 3 \(N, C, L\), got rank 4"):
        lppool.lp_pool1d(torch.ones(1, 1, 2, 8), 2.0, 2)
    with pytest.raises(ValueError, match="got rank 1"):
        lppool.LPPool1d(2.0, 2)(torch.ones(8))
    with pytest.raises(TypeError, match="int64; " + supported):
        lppool.lp_pool1d(np.ones((2, 8), dtype=np.int64), 2.0, 2)
    with pytest.raises(ValueError, match="too short"):
        lppool.lp_pool1d(np.ones((2, 3), dtype=np.float32), 2.0, 4)


HALF_TYPES = [(torch.float16, 2.0 ** -11), (torch.bfloat16, 2.0 ** -8)]


@pytest.mark.parametrize("dtype,unit", HALF_TYPES)
@pytest.mark.parametrize("p,K,S", [(2.0, 4, 4), (1.0, 3, 1), (2.5, 5, 2), (3.0, 16, 1), (0.5, 4, 4)])
def test_half_forward_is_one_rounding_of_the_float64_result(dtype, unit, p, K, S):
    x = away_from_zero((2, 16, 301), dtype=torch.float64, seed=K * 7 + S).to(dtype)
    y = lppool.lp_pool1d(x, p, K, S)
    assert y.dtype == dtype
    want = lppool.lp_pool1d(x.double(), p, K, S)
    assert torch.all((y.double() - want).abs() <= (unit + 1e-5) * want.abs())


def _backward_kernel(pool, x, y, grad_y):
    """dL/dx from the backward kernel alone, for given x, y and grad_y."""
    grad_x = torch.empty_like(x)
    pool.backward(*(lppool._capsule(t) for t in (x, y, grad_y, grad_x)))
    return grad_x


@pytest.mark.parametrize("dtype,unit", HALF_TYPES)
@pytest.mark.parametrize("p,K,S", [(2.0, 4, 4), (1.5, 3, 1), (2.5, 5, 2), (0.5, 4, 4)])
def test_half_backward_is_one_rounding_of_the_float32_backward(dtype, unit, p, K, S):
    x = away_from_zero((2, 8, 157), dtype=torch.float64, seed=K + S).to(dtype).requires_grad_()
    y = lppool.lp_pool1d(x, p, K, S)
    grad_y = away_from_zero(y.shape, seed=3).to(dtype)
    y.backward(grad_y)
    assert x.grad.dtype == dtype
    # The float32 backward of the same rounded x, y and grad_y.
    pool = lppool._make_pool(p, K, S, False)
    want = _backward_kernel(pool, x.detach().float(), y.detach().float(), grad_y.float())
    assert torch.all((x.grad.float() - want).abs() <= unit * want.abs() + 1e-30)


def test_half_inside_autocast_trains_like_float32():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(2, 8, 5, padding=2), lppool.LPPool1d(2.0, 4),
                                torch.nn.Conv1d(8, 4, 3, padding=1), lppool.LPPool1d(3.0, 3, 1),
                                torch.nn.Flatten(), torch.nn.LazyLinear(1))
    x = torch.randn(4, 2, 64)
    reference = model(x).sum()  # float32, and materializes the lazy layer
    reference.backward()
    grads32 = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pooled = model[1](model[0](x))
        assert pooled.dtype == torch.bfloat16  # the convolution ran in bfloat16, and so did we
        out = model(x).sum()
    out.backward()
    assert abs(out.item() - reference.item()) <= 0.05 * abs(reference.item()) + 0.05
    for p, g32 in zip(model.parameters(), grads32):
        assert p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()
        assert torch.allclose(p.grad, g32, rtol=0.1, atol=0.05 * g32.abs().max().item())


def test_mixed_dtypes_raise_type_error():
    pool = lppool._make_pool(2.0, 4, None, False)
    x = torch.ones(1, 2, 8, dtype=torch.float16)
    y = torch.empty(1, 2, 2, dtype=torch.float32)
    with pytest.raises(TypeError, match="y has dtype float32 but x has float16"):
        pool.forward(lppool._capsule(x), lppool._capsule(y))
    y = torch.full((1, 2, 2), 7.0, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="y has dtype bfloat16 but x has float16"):
        pool.forward(lppool._capsule(x), lppool._capsule(y))
    assert torch.all(y == 7.0)
