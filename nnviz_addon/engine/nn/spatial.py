"""Image ops on (N, C, H, W) tensors: ``conv2d``, ``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d``, with torch's arguments and output sizes.

Speed comes from doing each layer as whole-array numpy: a convolution gathers every input window
with ``sliding_window_view`` (im2col, one copy) and multiplies it by the kernels in one matrix
product; its backward is two more matrix products plus a col2im that adds each of the kh×kw kernel
offsets back in one strided slice (a loop over kernel offsets, never over pixels). A convolution's
output is a channel-major view (memory order C, N, H, W) of that product, which saves a copy both
ways. Pools look at
the same window views. Unbatched (C, H, W) input is accepted as torch does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from .._tensor import Tensor, from_op

Pair = tuple[int, int]
PaddingArg = int | Sequence[int] | str


def pair(value: int | Sequence[int], name: str) -> Pair:
    """An int or a 2-sequence of ints as (height, width), like torch's ``_pair``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """Positions a window of ``kernel`` (dilated) takes along an axis of ``size`` padded by ``pad_total``."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def conv_padding(padding: PaddingArg, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[Pair, Pair]:
    """((top, bottom), (left, right)) zero padding for conv2d's ``padding`` argument.

    ``"same"`` pads ``dilation*(k-1)`` in total, the odd one at the end, as torch does (and, as in
    torch, only with stride 1); ``"valid"`` is no padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"padding {padding!r} is not supported; allowed: an int, a pair, 'valid', 'same'")
        if stride != (1, 1):
            raise ValueError(f"padding='same' is not supported for strided convolutions (stride={stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {(ph, pw)}")
    return (ph, ph), (pw, pw)


def _positive(value: Pair, name: str) -> Pair:
    if min(value) < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def _as_batched(input: Tensor, op: str) -> tuple[np.ndarray, bool]:
    """The input as (N, C, H, W) and whether it came unbatched as (C, H, W)."""
    x = input.data
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3D (C, H, W) or 4D (N, C, H, W) input, got shape {x.shape}")
    return (x[None], True) if x.ndim == 3 else (x, False)


def _pad(x: np.ndarray, padding: tuple[Pair, Pair], value: float = 0.0) -> np.ndarray:
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """A (N, C, Ho, Wo, kh, kw) view of every window of the padded input (no copy)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    return view[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw, ::dh, ::dw]


def _tiles_input(kernel: Pair, stride: Pair, padding: tuple[Pair, Pair], dilation: Pair) -> bool:
    """Whether the windows tile the input (stride = kernel, no padding or dilation): the usual
    pooling, whose windows are a reshape of the image and whose backward needs no col2im."""
    return stride == kernel and dilation == (1, 1) and not any(sum(p) for p in padding)


def _first_maximum(taps: np.ndarray, best: np.ndarray) -> np.ndarray:
    """(taps, positions) True at each window's first maximum (its first NaN, if any), as torch
    picks; a loop over the few taps beats ``argmax``, which numpy does column by column."""
    if np.isnan(best).any():
        return taps.argmax(axis=0) == np.arange(len(taps))[:, None]  # argmax stops at the first NaN
    chosen = taps == best
    taken = chosen[0].copy()
    for row in chosen[1:]:
        row &= ~taken
        taken |= row
    return chosen


def _untile(grad_taps: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Tiling windows' gradients (kh, kw, N, C, Ho, Wo) as the image's gradient, in one copy (zero in
    the rows and columns no window covers)."""
    kh, kw, n, c, ho, wo = grad_taps.shape
    image = grad_taps.transpose(2, 3, 4, 0, 5, 1).reshape(n, c, ho * kh, wo * kw)
    if image.shape == tuple(shape):
        return image
    grad = np.zeros(shape, dtype=grad_taps.dtype)
    grad[:, :, : ho * kh, : wo * kw] = image
    return grad


def _col2im(piece: Callable[[int, int], np.ndarray], kernel: Pair, out_hw: Pair, padded_shape: tuple[int, ...],
            stride: Pair, dilation: Pair, padding: tuple[Pair, Pair], dtype: np.dtype) -> np.ndarray:
    """The input gradient from ``piece(i, j)``, the (N, C, Ho, Wo) gradient of what kernel offset
    (i, j) read: each is added where that offset reads, then the padding is cut off."""
    (kh, kw), (ho, wo), (sh, sw), (dh, dw) = kernel, out_hw, stride, dilation
    grad = np.zeros(padded_shape, dtype=dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            grad[:, :, rows, j * dw : j * dw + sw * (wo - 1) + 1 : sw] += piece(i, j)
    (top, bottom), (left, right) = padding
    return grad[:, :, top : padded_shape[2] - bottom, left : padded_shape[3] - right]


def _output_hw(op: str, hw: tuple[int, int], kernel: Pair, stride: Pair, padding: tuple[Pair, Pair],
               dilation: Pair) -> Pair:
    out = tuple(output_size(size, k, s, sum(p), d)
                for size, k, s, p, d in zip(hw, kernel, stride, padding, dilation, strict=True))
    if min(out) < 1:
        padded = tuple(size + sum(p) for size, p in zip(hw, padding, strict=True))
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
        raise ValueError(f"{op}: the input's {hw[0]}×{hw[1]} pixels (padded {padded[0]}×{padded[1]}) are "
                         f"smaller than the kernel's {span[0]}×{span[1]} span")
    return out  # type: ignore[return-value]


def _restore(out: np.ndarray, unbatched: bool) -> np.ndarray:
    return out[0] if unbatched else out


# OpenBLAS multiplies a matrix of few rows by a very wide one (LeNet's first convolution: 25 kernel
# taps by 36,864 output positions) 3-5x slower than the same product in blocks of a few thousand
# columns (measured with the SkylakeX kernel: 1.02 ms whole, 0.18 ms in blocks of 4,096).
_WIDE_BLOCK = 4096
_WIDE_SHARED = 64  # shared dimensions up to this size are the slow case; above it BLAS does well


def _is_wide(shared: int, width: int) -> bool:
    return shared <= _WIDE_SHARED and width > 2 * _WIDE_BLOCK


def _times_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a (M, K) and b (K, N), in column blocks when b is short and very wide."""
    if not _is_wide(a.shape[1], b.shape[1]):
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for start in range(0, b.shape[1], _WIDE_BLOCK):
        block = slice(start, start + _WIDE_BLOCK)
        np.matmul(a, b[:, block], out=out[:, block])
    return out


def _times_wide_transposed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for a (M, N) and b (K, N) with N very wide, summed over blocks of N."""
    if not _is_wide(min(a.shape[0], b.shape[0]), a.shape[1]):
        return a @ b.T
    out = a[:, :_WIDE_BLOCK] @ b[:, :_WIDE_BLOCK].T
    for start in range(_WIDE_BLOCK, a.shape[1], _WIDE_BLOCK):
        block = slice(start, start + _WIDE_BLOCK)
        out += a[:, block] @ b[:, block].T
    return out


# Multiply-adds up to which a small image's input gradient is one product with the convolution's
# dense matrix rather than a col2im of kh·kw strided adds (each costs numpy's per-op overhead).
_DENSE_LIMIT = 2_000_000


@functools.lru_cache(maxsize=64)
def _reads(kernel: Pair, out_hw: Pair, padded_hw: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """(kh·kw, Ho·Wo, Hp·Wp) 0/1: which padded pixel each kernel tap reads at each output position."""
    (kh, kw), (ho, wo), (hp, wp) = kernel, out_hw, padded_hw
    reads = np.zeros((kh, kw, ho, wo, hp, wp), dtype=np.float32)
    rows, cols = np.arange(ho) * stride[0], np.arange(wo) * stride[1]
    for i in range(kh):
        for j in range(kw):
            reads[i, j, np.arange(ho)[:, None], np.arange(wo)[None, :],
                  (rows + i * dilation[0])[:, None], (cols + j * dilation[1])[None, :]] = 1
    return reads.reshape(kh * kw, ho * wo, hp * wp)


def _dense_input_grad(g: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], out_hw: Pair, stride: Pair,
                      dilation: Pair, padding: tuple[Pair, Pair]) -> np.ndarray:
    """conv2d's input gradient as one matrix product: upstream (N, O·Ho·Wo) times the convolution's
    dense matrix (O·Ho·Wo, C·Hp·Wp), built from the kernels and :func:`_reads`."""
    out_channels, channels, kh, kw = w.shape
    n, _, hp, wp = padded_shape
    reads = _reads((kh, kw), out_hw, (hp, wp), stride, dilation).astype(w.dtype, copy=False)
    positions = out_hw[0] * out_hw[1]
    dense = (w.reshape(out_channels * channels, kh * kw) @ reads.reshape(kh * kw, -1))
    dense = dense.reshape(out_channels, channels, positions, hp * wp).transpose(0, 2, 1, 3)
    grad = (g.reshape(n, -1) @ dense.reshape(out_channels * positions, -1)).reshape(padded_shape)
    (top, bottom), (left, right) = padding
    return grad[:, :, top : hp - bottom, left : wp - right]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: PaddingArg = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2D cross-correlation of (N, C, H, W) input with ``weight`` (out, C, kh, kw), zero padded,
    as one im2col matrix product."""
    if groups != 1:
        raise ValueError(f"conv2d: groups={groups} is not supported (only groups=1)")
    x, unbatched = _as_batched(input, "conv2d")
    w = weight.data
    if w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input of shape {input.shape} does not fit weight of shape {w.shape} "
                         f"(expected {w.shape[1] if w.ndim == 4 else '?'} input channels)")
    if bias is not None and bias.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias of shape {bias.shape} does not fit weight of shape {w.shape}")
    out_channels, channels, kh, kw = w.shape
    stride_hw = _positive(pair(stride, "stride"), "stride")
    dilation_hw = _positive(pair(dilation, "dilation"), "dilation")
    pads = conv_padding(padding, (kh, kw), stride_hw, dilation_hw)
    n = x.shape[0]
    ho, wo = _output_hw("conv2d", x.shape[2:], (kh, kw), stride_hw, pads, dilation_hw)
    xp = _pad(x, pads)
    # im2col as (C·kh·kw, N·Ho·Wo): the kernel taps in weight's order down, the output positions
    # across, so one matrix product gives the output channel-major, and backward's upstream
    # gradient (which elementwise ops keep in that memory order) reshapes back without a copy.
    cols = _windows(xp, (kh, kw), stride_hw, dilation_hw, (ho, wo)).transpose(1, 4, 5, 0, 2, 3)
    cols = cols.reshape(channels * kh * kw, n * ho * wo)
    kernels = w.reshape(out_channels, -1)
    rows = _times_wide(kernels, cols)
    if bias is not None:
        rows += bias.data[:, None]
    out = rows.reshape(out_channels, n, ho, wo).transpose(1, 0, 2, 3)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        g4 = g[None] if unbatched else g
        grad_rows = g4.transpose(1, 0, 2, 3).reshape(out_channels, n * ho * wo)
        grad_input = grad_weight = None
        if input.requires_grad:
            if n * out_channels * ho * wo * channels * xp.shape[2] * xp.shape[3] <= _DENSE_LIMIT:
                grad_input = _dense_input_grad(g4, w, xp.shape, (ho, wo), stride_hw, dilation_hw, pads)
            else:
                grad_cols = _times_wide(kernels.T, grad_rows).reshape(channels, kh, kw, n, ho, wo)
                grad_input = _col2im(lambda i, j: grad_cols[:, i, j].transpose(1, 0, 2, 3), (kh, kw), (ho, wo),
                                     xp.shape, stride_hw, dilation_hw, pads, x.dtype)
            grad_input = _restore(grad_input, unbatched)
        if weight.requires_grad:
            grad_weight = _times_wide_transposed(grad_rows, cols).reshape(w.shape)
        if bias is None:
            return grad_input, grad_weight
        return grad_input, grad_weight, grad_rows.sum(axis=1) if bias.requires_grad else None

    parents = (input, weight) if bias is None else (input, weight, bias)
    return from_op(_restore(out, unbatched), parents, backward)


def _pool_arguments(op: str, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
                    padding: int | Sequence[int], ceil_mode: bool) -> tuple[Pair, Pair, tuple[Pair, Pair]]:
    if ceil_mode:
        raise ValueError(f"{op}: ceil_mode=True is not supported (only the default floor mode)")
    kernel = _positive(pair(kernel_size, "kernel_size"), "kernel_size")
    # torch: stride defaults to the kernel size (None or an empty list)
    strides = kernel if stride is None or (isinstance(stride, Sequence) and not len(stride)) else pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0 or ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"{op}: padding {(ph, pw)} must be at least 0 and at most half the kernel size {kernel}")
    return kernel, _positive(strides, "stride"), ((ph, ph), (pw, pw))


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each window (padding counts as -inf). Ties go to the first maximum in the
    window (row-major), and a NaN wins, as in torch; the gradient flows to that one element."""
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    kernel, strides, pads = _pool_arguments("max_pool2d", kernel_size, stride, padding, ceil_mode)
    dilation_hw = _positive(pair(dilation, "dilation"), "dilation")
    x, unbatched = _as_batched(input, "max_pool2d")
    if x.dtype.kind != "f":
        raise TypeError(f"max_pool2d: expected a floating point input, got {x.dtype}")
    ho, wo = _output_hw("max_pool2d", x.shape[2:], kernel, strides, pads, dilation_hw)
    xp = _pad(x, pads, -np.inf)
    n, c = x.shape[:2]
    # taps first, (kh·kw, N·C·Ho·Wo): the reductions then run along long rows, fast even when the
    # image is tiny (a trailing window axis of 4 would cost numpy one inner loop per window)
    windows = _windows(xp, kernel, strides, dilation_hw, (ho, wo)).transpose(4, 5, 0, 1, 2, 3)
    taps = np.ascontiguousarray(windows).reshape(kernel[0] * kernel[1], -1)
    best = taps.max(axis=0)  # NaN where a window holds one
    out = best.reshape(n, c, ho, wo)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        g4 = g[None] if unbatched else g
        chosen = _first_maximum(taps, best)
        grad_taps = np.where(chosen, g4.reshape(1, -1), g4.dtype.type(0)).reshape(*kernel, n, c, ho, wo)
        if _tiles_input(kernel, strides, pads, dilation_hw):  # the windows tile the image: fold them back
            return (_restore(_untile(grad_taps, x.shape), unbatched),)
        grad = _col2im(lambda i, j: grad_taps[i, j], kernel, (ho, wo), xp.shape, strides, dilation_hw, pads,
                       g4.dtype)
        return (_restore(grad, unbatched),)

    return from_op(_restore(out, unbatched), (input,), backward)


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each window of the zero-padded input; with ``count_include_pad=False`` the
    padding is left out of each window's count; ``divisor_override`` replaces the count."""
    kernel, strides, pads = _pool_arguments("avg_pool2d", kernel_size, stride, padding, ceil_mode)
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    x, unbatched = _as_batched(input, "avg_pool2d")
    ho, wo = _output_hw("avg_pool2d", x.shape[2:], kernel, strides, pads, (1, 1))
    xp = _pad(x, pads)
    total = _windows(xp, kernel, strides, (1, 1), (ho, wo)).sum(axis=(-2, -1))
    if divisor_override is not None:
        divisor: np.ndarray | float = float(divisor_override)
    elif count_include_pad or not any(sum(p) for p in pads):
        divisor = float(kernel[0] * kernel[1])
    else:
        inside = _pad(np.ones((1, 1, *x.shape[2:]), dtype=x.dtype), pads)
        divisor = _windows(inside, kernel, strides, (1, 1), (ho, wo)).sum(axis=(-2, -1))
    out = (total / divisor).astype(x.dtype, copy=False)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        share = ((g[None] if unbatched else g) / divisor).astype(x.dtype, copy=False)
        grad = _col2im(lambda i, j: share, kernel, (ho, wo), xp.shape, strides, (1, 1), pads, x.dtype)
        return (_restore(grad, unbatched),)

    return from_op(_restore(out, unbatched), (input,), backward)


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging weights: output i averages input [floor(i*size/out), ceil((i+1)*size/out))."""
    matrix = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average pooling to a fixed (oh, ow) output, torch's windows; None keeps that input size.
    Each axis is one averaging matrix, so forward and backward are two small matrix products."""
    x = _as_batched(input, "adaptive_avg_pool2d")[0]
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (x.shape[2 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    rows, cols = _adaptive_matrix(x.shape[2], oh, x.dtype), _adaptive_matrix(x.shape[3], ow, x.dtype)
    out = rows @ input.data @ cols.T  # (C, H, W) or (N, C, H, W) alike

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (rows.T @ g @ cols,)

    return from_op(out, (input,), backward)
