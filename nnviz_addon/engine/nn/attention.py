"""Attention as functions: ``scaled_dot_product_attention`` (torch's name and mask rules) and the
multi-head core that ``nn.MultiheadAttention`` runs on.

Both are one fused op each: softmax(q kᵀ · scale + mask) v forward and its whole backward in one
closure over numpy arrays (``_attend`` / ``_attend_backward``). A transformer step of a small
model is dominated by per-op overhead, and the hand-written backward also saves the
intermediate score tensors a composed graph would keep. The multi-head op additionally does the
head split and merge as numpy views inside the op, so no reshape/transpose nodes enter the graph.

Masks are turned into one additive float array (0 where attending, -inf where not) before the
op. ``scaled_dot_product_attention`` reads a boolean mask as True = attend; ``MultiheadAttention``
reads its boolean masks as True = *masked* — both as in torch. A query row with every key masked
gets all-zero weights (torch's "safe softmax" of its attention kernels) instead of NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._random import resolve
from .._tensor import Tensor, from_op, last_axis_sum


def additive_mask(mask: Any, true_means_attend: bool, dtype: np.dtype) -> np.ndarray:
    """``mask`` (bool or float; Tensor or array) as an additive float mask of ``dtype``."""
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == np.bool_:
        blocked = array if not true_means_attend else ~array
        return np.where(blocked, dtype.type(-np.inf), dtype.type(0))
    if array.dtype.kind != "f":
        raise TypeError(f"attention masks must be bool or float, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def causal_mask(target_length: int, source_length: int, dtype: np.dtype) -> np.ndarray:
    """0 on and below the diagonal, -inf above it (query i sees keys 0..i), top-left aligned as torch."""
    upper = np.triu(np.ones((target_length, source_length), dtype=bool), 1)
    return np.where(upper, dtype.type(-np.inf), dtype.type(0))


def dropout_keep(
    shape: tuple[int, ...], p: float, dtype: np.dtype, generator: np.random.Generator | None
) -> np.ndarray:
    """Inverted-dropout factors: 0 with probability ``p``, else 1/(1-p) (the engine's generator)."""
    scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    return (resolve(generator).random(shape) >= p) * dtype.type(scale)


# ---------------------------------------------------------------------------------------------
# The numpy core


def _softmax_rows(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """softmax(scores + mask) along the last axis, a new array; all-masked rows give zeros.

    Any shift c gives the same softmax, exp(s - c) / sum exp(s - c); torch uses each row's
    max. numpy's max over a short last axis costs as much as the rest of the softmax, so the
    shift here is a bound on *all* masked scores (the scores' max plus the mask's; two fast
    reductions), added together with the mask in one pass. That is as exact as long as no row's
    own max sits so far below the bound that the row's exps lose precision; when one does (or a
    row is fully masked) the rows are redone with their own max."""
    floor = _SAFE_ROW_TOTAL.get(scores.dtype, 0.0)
    top = scores.max() if scores.size else 0.0
    if mask is not None and mask.size:
        top = top + mask.max()
    if np.isfinite(top):
        shift = -top if mask is None else mask - top  # mask-sized: small beside the scores
        weights = scores + shift
        np.exp(weights, out=weights)
        total = last_axis_sum(weights)
        if total.min(initial=np.inf) > floor:
            weights *= np.reciprocal(total)  # a product broadcasts faster than a quotient
            return weights
    masked = scores if mask is None else scores + mask
    top = masked.max(axis=-1, keepdims=True)
    if mask is not None:
        # A fully masked row has max -inf; shifting it by 0 instead makes its exps 0, not NaN.
        top[np.isneginf(top)] = 0
    weights = np.subtract(masked, top, out=masked if mask is not None else None)
    np.exp(weights, out=weights)
    total = last_axis_sum(weights)
    if mask is not None:
        total[total == 0] = 1  # the fully masked rows: weights stay 0
    weights /= total
    return weights


# A row whose exps (shifted by the overall max) sum to less than this has its largest weight
# far enough into the dtype's small numbers that its smaller weights would lose digits.
_SAFE_ROW_TOTAL = {np.dtype(np.float32): 1e-20, np.dtype(np.float64): 1e-200}


# attention on arrays: q (..., L, D), k (..., S, D), v (..., S, Dv) → (..., L, Dv)


def _attend(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None,
    scale: float,
    keep: np.ndarray | None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output (into ``out`` if given), attention weights and the weights after dropout (the same
    array without it)."""
    scores = np.matmul(q, k.swapaxes(-1, -2))
    scores *= scores.dtype.type(scale)
    weights = _softmax_rows(scores, mask)  # the mask may broadcast the weights to more batch dims
    dropped = weights if keep is None else weights * keep
    return np.matmul(dropped, v, out=out), weights, dropped


def _attend_backward(
    g: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    weights: np.ndarray,
    dropped: np.ndarray,
    keep: np.ndarray | None,
    scale: float,
    out: tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[None, None, None] = (None, None, None),
    wants_scores: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of q, k, v (into the arrays of ``out`` if given) and, if ``wants_scores``, of
    the (pre-scale) scores, i.e. of an additive mask."""
    grad_v = np.matmul(dropped.swapaxes(-1, -2), g, out=out[2])
    grad_weights = np.matmul(g, v.swapaxes(-1, -2))
    if keep is not None:
        grad_weights *= keep
    # softmax backward: w * (dw - <dw, w>) along each row
    grad_weights -= last_axis_sum(grad_weights * weights)
    grad_scores = np.multiply(grad_weights, weights, out=grad_weights)
    # the scores' gradient is a result only for a mask that wants one; otherwise scale it in place
    grad_logits = grad_scores * grad_scores.dtype.type(scale) if wants_scores else np.multiply(
        grad_scores, grad_scores.dtype.type(scale), out=grad_scores)
    grad_q = np.matmul(grad_logits, k, out=out[0])
    grad_k = np.matmul(grad_logits.swapaxes(-1, -2), q, out=out[1])
    return grad_q, grad_k, grad_v, grad_scores if wants_scores else None


# ---------------------------------------------------------------------------------------------
# The public function


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | np.ndarray | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """softmax(query keyᵀ · scale + mask) value, torch's ``F.scaled_dot_product_attention``.

    ``attn_mask`` broadcasts to (..., L, S): boolean True = attend, float = added to the scores
    (a float mask tensor that requires a gradient gets one). ``is_causal`` masks keys after each
    query (not with ``attn_mask``). ``scale`` defaults to 1/√D. Dropout of the weights applies
    whenever ``dropout_p`` > 0, as in torch (pass 0 outside training)."""
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention needs (..., L, E) inputs, got {query.shape}, {key.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value {value.shape} do not fit "
            "(query and key need the same last dim, key and value the same sequence length)"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: an explicit attn_mask should not be set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    q, k, v = query.data, key.data, value.data
    dtype = q.dtype
    length, source = q.shape[-2], k.shape[-2]
    mask = None
    if is_causal:
        mask = causal_mask(length, source, dtype)
    elif attn_mask is not None:
        mask = additive_mask(attn_mask, true_means_attend=True, dtype=dtype)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    weights_shape = (*batch, length, source)
    if mask is not None:
        weights_shape = np.broadcast_shapes(weights_shape, mask.shape)
    keep = dropout_keep(weights_shape, dropout_p, dtype, generator) if dropout_p > 0 else None
    out, weights, dropped = _attend(q, k, v, mask, factor, keep)
    mask_tensor = attn_mask if isinstance(attn_mask, Tensor) and attn_mask.requires_grad else None

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        grad_q, grad_k, grad_v, grad_scores = _attend_backward(g, q, k, v, weights, dropped, keep, factor,
                                                               wants_scores=mask_tensor is not None)
        return (grad_q, grad_k, grad_v) if mask_tensor is None else (grad_q, grad_k, grad_v, grad_scores)

    parents = (query, key, value) if mask_tensor is None else (query, key, value, mask_tensor)
    return from_op(out, parents, backward)


# ---------------------------------------------------------------------------------------------
# Multi-head attention's core


def split_heads(x: np.ndarray, num_heads: int, batch_first: bool) -> np.ndarray:
    """(N, L, E) if ``batch_first`` else (L, N, E) → (N, heads, L, E/heads), a view where numpy can."""
    return _per_head(x.reshape(*x.shape[:2], num_heads, x.shape[2] // num_heads), batch_first)


def _per_head(x: np.ndarray, batch_first: bool) -> np.ndarray:
    """(N, L, heads, D) if ``batch_first`` else (L, N, heads, D) → (N, heads, L, D), a view."""
    return x.transpose(0, 2, 1, 3) if batch_first else x.transpose(1, 2, 0, 3)


def multi_head_attention(
    projected: tuple[Tensor, ...],
    num_heads: int,
    mask: np.ndarray | None,
    dropout_p: float,
    batch_first: bool,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Attention of already projected q, k, v over ``num_heads`` heads, heads merged again.

    ``projected`` is (q, k, v), each (N, L, E) or (L, N, E) by ``batch_first``, or a single packed
    tensor holding [q | k | v] along its last dim (self-attention's one in-projection); then the
    gradient comes back packed the same way. ``mask`` is additive and broadcasts to (N, H, L, S)."""
    out, backward = attend_heads(tuple(t.data for t in projected), num_heads, mask, dropout_p, batch_first, generator)
    return from_op(out, tuple(projected), backward)


def attend_heads(
    arrays: tuple[np.ndarray, ...],
    num_heads: int,
    mask: np.ndarray | None,
    dropout_p: float,
    batch_first: bool,
    generator: np.random.Generator | None = None,
) -> tuple[np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, ...]]]:
    """:func:`multi_head_attention` on arrays: the merged output, and the function from its
    gradient to the gradients of ``arrays`` (packed if they were).

    The heads are strided views of the inputs, and every per-head product is written straight
    into its place in the merged (or packed) result: merging by a copy afterwards cost as much as
    the product itself."""
    parts = arrays
    if len(arrays) == 1:
        width = arrays[0].shape[-1] // 3
        parts = tuple(arrays[0][..., i * width : (i + 1) * width] for i in range(3))
    q, k, v = (split_heads(a, num_heads, batch_first) for a in parts)
    depth = q.shape[-1]
    scale = 1.0 / math.sqrt(depth)
    keep = None
    if dropout_p > 0:
        keep = dropout_keep((*q.shape[:2], q.shape[2], k.shape[2]), dropout_p, q.dtype, generator)
    out = np.empty((*parts[0].shape[:2], v.shape[1] * v.shape[3]), dtype=q.dtype)
    _, weights, dropped = _attend(q, k, v, mask, scale, keep, out=split_heads(out, num_heads, batch_first))

    def backward(g: np.ndarray) -> tuple[np.ndarray, ...]:
        heads_g = split_heads(g, num_heads, batch_first)
        if len(arrays) == 3:
            grads = tuple(np.empty(a.shape, dtype=g.dtype) for a in arrays)
            _attend_backward(heads_g, q, k, v, weights, dropped, keep, scale,
                             tuple(split_heads(grad, num_heads, batch_first) for grad in grads))
            return grads
        # [q | k | v] along the last dim is (..., 3, heads, D) in memory
        packed = np.empty((*g.shape[:-1], 3, num_heads, depth), dtype=g.dtype)
        _attend_backward(heads_g, q, k, v, weights, dropped, keep, scale,
                         tuple(_per_head(packed[..., i, :, :], batch_first) for i in range(3)))
        return (packed.reshape(arrays[0].shape),)

    return out, backward
