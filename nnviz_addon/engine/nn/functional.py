"""``nn.functional``: layers and losses as functions, with torch's names and semantics.

``linear``, the losses and the activations are single fused ops (one forward array expression and
one backward closure each) because a training step of a small network is dominated by per-op
overhead. Batch normalisation is composed from Tensor ops: it is not on the hot path and stays obviously
correct that way; layer normalisation is on a transformer's hot path and is one fused op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._random import resolve
from .._tensor import Tensor, _log_softmax, from_op, unary
from .attention import scaled_dot_product_attention  # noqa: F401  (F.scaled_dot_product_attention)
from .kernels import layer_norm_rows, layer_norm_rows_backward, linear_rows, linear_rows_backward
from .spatial import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d  # noqa: F401  (F.conv2d, …)

REDUCTIONS = ("none", "mean", "sum")
_BCE_EPSILON = 1e-12  # torch's floor for p(1-p) in the BCE gradient
_BCE_LOG_FLOOR = -100.0  # torch clamps log(p) and log(1-p) here


# ---------------------------------------------------------------------------------------------
# Layers


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one op; ``weight`` has shape (out_features, in_features)."""
    x, w = input.data, weight.data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit weight of shape {w.shape} "
            f"(input's last dimension must equal weight's second)"
        )
    if bias is not None and bias.data.shape != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit weight of shape {w.shape}")
    # Batched input goes through BLAS as one (rows, in) matrix: numpy's matmul of an N-D array
    # by a 2-D one loops over the leading dims, one small product each (~1.5x slower here).
    rows_x = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
    out = linear_rows(rows_x, w, None if bias is None else bias.data)
    if x.ndim != 2:
        out = out.reshape(*x.shape[:-1], w.shape[0])

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        wants = (input.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        grad_input, grad_weight, grad_bias = linear_rows_backward(g.reshape(-1, g.shape[-1]), rows_x, w, wants)
        if grad_input is not None:
            grad_input = grad_input.reshape(x.shape)
        return (grad_input, grad_weight) if bias is None else (grad_input, grad_weight, grad_bias)

    return from_op(out, (input, weight) if bias is None else (input, weight, bias), backward)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted dropout);
    the identity when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = input.data
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = (resolve(generator).random(x.shape) >= p) * x.dtype.type(scale)
    return from_op(x * mask, (input,), lambda g: (g * mask,))


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape`` dims
    (biased variance, as torch). One op: it runs twice per transformer layer, so its backward is
    written out rather than recorded as the eight ops it is made of."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if input.shape[input.ndim - len(shape) :] != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: input of shape {input.shape} does not end in normalized_shape {shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and param.shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {param.shape} does not match normalized_shape {shape}")
    # One row per normalised sample, so every mean is a sum along the last axis (through BLAS).
    width = math.prod(shape)
    rows = input.data.reshape(-1, width)
    scale = None if weight is None else weight.data.reshape(width)
    out, normed, rstd = layer_norm_rows(rows, scale, None if bias is None else bias.data.reshape(width), eps)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        wants = (input.requires_grad, weight is not None and weight.requires_grad,
                 bias is not None and bias.requires_grad)
        grad_input, grad_weight, grad_bias = layer_norm_rows_backward(g.reshape(-1, width), normed, rstd, scale, wants)
        grads = [None if grad_input is None else grad_input.reshape(input.shape)]
        for param, grad in ((weight, grad_weight), (bias, grad_bias)):
            if param is not None:  # one gradient per parent
                grads.append(None if grad is None else grad.reshape(shape))
        return tuple(grads)

    out = out.reshape(input.shape)
    parents = (input, *(p for p in (weight, bias) if p is not None))
    return from_op(out, parents, backward)


# An embedding's backward scatters each looked-up row's gradient back into its table row. numpy's
# np.add.at scatters at about 6 ns an element; a one-hot matrix product costs about 0.02 ns per
# table row and element, so for small tables (token vocabularies of the sequence tasks) the
# product is several times faster, and for big ones the scatter is.
_ONE_HOT_MAX_ROWS = 128


def embedding(input: Tensor | np.ndarray, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (any shape → shape + (embedding_dim,)).
    Row ``padding_idx`` gets no gradient, as in torch."""
    indices = input.data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: indices must be an integer tensor, got dtype {indices.dtype}")
    table = weight.data
    rows = table.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError(f"embedding: index out of range in self (indices must be in [0, {rows - 1}])")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({rows})")
        padding_idx %= rows
    flat = indices.reshape(-1)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        rows_g = g.reshape(flat.size, -1)
        grad = None
        if rows <= _ONE_HOT_MAX_ROWS:
            # repeated indices add up: one-hotᵀ · g, through BLAS
            one_hot = np.zeros((flat.size, rows), dtype=table.dtype)
            one_hot[np.arange(flat.size), flat] = 1
            with np.errstate(invalid="ignore"):  # 0 · inf: handled below
                grad = np.matmul(one_hot.T, rows_g)
            if not np.isfinite(grad).all():  # 0 · inf would spread one row's inf as nan to every row
                grad = None
        if grad is None:
            grad = np.zeros_like(table)
            np.add.at(grad, flat, rows_g)  # repeated indices add up
        if padding_idx is not None:
            grad[padding_idx] = 0
        return (grad,)

    return from_op(table[indices], (weight,), backward)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over every axis but the channels' (dim 1) of (N, C), (N, C, L) or (N, C, H, W) input.

    Training uses the batch statistics (biased variance) and moves the running statistics
    towards them by ``momentum``, storing the unbiased variance, as torch does."""
    if input.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm expects (N, C), (N, C, L) or (N, C, H, W) input, got shape {input.shape}")
    channels = input.shape[1]
    axes = (0, *range(2, input.ndim))
    stats_shape = (1, channels) + (1,) * (input.ndim - 2)
    if training or running_mean is None:
        count = input.data.size // channels
        if training and count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input of shape {input.shape}")
        mean = input.mean(axes, keepdim=True)
        centred = input - mean
        variance = (centred * centred).mean(axes, keepdim=True)
        if training and running_mean is not None and running_var is not None:
            unbiased = variance.data.reshape(channels) * (count / (count - 1))
            running_mean.data *= 1.0 - momentum
            running_mean.data += momentum * mean.data.reshape(channels)
            running_var.data *= 1.0 - momentum
            running_var.data += momentum * unbiased
        out = centred / (variance + eps).sqrt()
    else:
        mean = running_mean.data.reshape(stats_shape).astype(input.dtype, copy=False)
        variance = running_var.data.reshape(stats_shape).astype(input.dtype, copy=False)
        out = (input - Tensor(mean)) * Tensor(1.0 / np.sqrt(variance + eps))
    if weight is not None:
        out = out * weight.reshape(stats_shape)
    if bias is not None:
        out = out + bias.reshape(stats_shape)
    return out


# ---------------------------------------------------------------------------------------------
# Activations


# The rules themselves are rows of the engine's unary table (``_tensor._UNARY``); the modules in
# ``nn.activation`` call these functions.


def relu(input: Tensor) -> Tensor:
    """max(x, 0); the gradient at 0 is 0, as in torch."""
    return unary(input, "relu")


def sigmoid(input: Tensor) -> Tensor:
    return unary(input, "sigmoid")


def tanh(input: Tensor) -> Tensor:
    return unary(input, "tanh")


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x; at 0 the gradient is the slope, as in torch."""
    return unary(input, "leaky_relu", negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact normal CDF (erf), or torch's tanh approximation."""
    return unary(input, gelu_rule(approximate))


def gelu_rule(approximate: str) -> str:
    """The unary rule for GELU's ``approximate`` argument (checked here for F.gelu and nn.GELU)."""
    rules = {"none": "gelu", "tanh": "gelu_tanh"}
    if approximate not in rules:
        raise ValueError(f"gelu approximate={approximate!r} is not supported; allowed: 'none', 'tanh'")
    return rules[approximate]


def silu(input: Tensor) -> Tensor:
    """x * sigmoid(x)."""
    return unary(input, "silu")


def softmax_dim(ndim: int) -> int:
    """torch's implicit dim when a Softmax is made without one."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return input.softmax(softmax_dim(input.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    return input.log_softmax(softmax_dim(input.ndim) if dim is None else dim)


# ---------------------------------------------------------------------------------------------
# Losses


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        allowed = ", ".join(repr(r) for r in REDUCTIONS)
        raise ValueError(f"reduction={reduction!r} is not valid; allowed: {allowed}")
    return reduction


def _target_like(input: Tensor, target: Any, loss: str) -> Tensor:
    """The target as a tensor of the input's shape and float dtype (the shapes must agree:
    silently broadcasting (N, 1) against (N,) is a classic bug)."""
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if target.shape != input.shape:
        raise ValueError(f"{loss}: target shape {target.shape} differs from input shape {input.shape}")
    return target


def _pointwise_loss(
    parents: tuple[Tensor, Tensor],
    losses: np.ndarray,
    local_grads: tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]],
    reduction: str,
) -> Tensor:
    """One op for an elementwise loss: ``losses`` reduced, and d(loss_i)/d(parent_i) evaluated
    lazily in backward for the parents that need it."""
    check_reduction(reduction)
    out = _reduce(losses, reduction)
    count = losses.size
    (first, second), (first_grad, second_grad) = parents, local_grads

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        if reduction == "mean":
            g = g / count
        return (
            first_grad() * g if first.requires_grad else None,
            second_grad() * g if second.requires_grad else None,
        )

    return from_op(out, parents, backward)


def _reduce(losses: np.ndarray, reduction: str, divisor: float | None = None) -> np.ndarray:
    """The mean, sum or (for "none") the losses themselves, kept in the losses' dtype. The mean
    divides by ``divisor`` when given (a total class weight: 0 gives nan, as in torch)."""
    if reduction == "none":
        return losses
    total = np.add.reduce(losses, axis=None)
    if reduction == "mean":
        total = _divide(total, losses.size if divisor is None else divisor, losses.dtype)
    return np.asarray(total)


def _divide(a: np.ndarray, b: float, dtype: np.dtype | None = None) -> np.ndarray:
    """``a / b``; a zero ``b`` gives inf or nan as in torch, without numpy's warning."""
    if b:
        return np.true_divide(a, b, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b, dtype=dtype)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    target = _target_like(input, target, "mse_loss")
    diff = input.data - target.data
    return _pointwise_loss((input, target), diff * diff, (lambda: 2 * diff, lambda: -2 * diff), reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    target = _target_like(input, target, "l1_loss")
    diff = input.data - target.data
    return _pointwise_loss((input, target), np.abs(diff), (lambda: np.sign(diff), lambda: -np.sign(diff)), reduction)


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-(y log p + (1-y) log(1-p)) with each log clamped at -100, as in torch."""
    target = _target_like(input, target, "binary_cross_entropy")
    p, y = input.data, target.data
    if np.any((p < 0) | (p > 1)):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), _BCE_LOG_FLOOR)
        log_q = np.maximum(np.log(1 - p), _BCE_LOG_FLOOR)
    losses = -(y * log_p + (1 - y) * log_q)
    return _pointwise_loss(
        (input, target),
        losses,
        (lambda: (p - y) / np.maximum((1 - p) * p, _BCE_EPSILON), lambda: log_q - log_p),
        reduction,
    )


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """BCE of sigmoid(x) computed from the logits without overflow: softplus(x) - x*y, with
    softplus(x) = log(1 + exp(x)) from ``np.logaddexp``; its gradient sigmoid(x) - y reuses it."""
    target = _target_like(input, target, "binary_cross_entropy_with_logits")
    x, y = input.data, target.data
    softplus = np.logaddexp(0, x)
    losses = softplus - x * y
    return _pointwise_loss((input, target), losses, (lambda: np.exp(x - softplus) - y, lambda: -x), reduction)


def _class_rows(x: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(N, C, d1, ...) scores as (N*d1*..., C) rows, and the function that puts a per-row-and-class
    array back into the original layout."""
    if x.ndim == 1:
        return x[None, :], lambda rows: rows.reshape(x.shape)
    if x.ndim == 2:
        return x, lambda rows: rows
    moved = np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]), lambda rows: np.moveaxis(rows.reshape(moved.shape), -1, 1)


def _class_indices(
    target: Tensor, scores_shape: tuple[int, ...], loss: str, ignore_index: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The target's class indices as one per row, and a mask of the rows that count (None when
    all do; rows whose target is ``ignore_index`` don't, and get class 0 as a safe stand-in)."""
    expected = scores_shape[:1] + scores_shape[2:] if len(scores_shape) > 1 else ()
    if target.shape != expected:
        raise ValueError(
            f"{loss}: class-index target of shape {target.shape} does not fit input of shape {scores_shape} "
            f"(expected target shape {expected})"
        )
    indices = target.data.reshape(-1)
    classes = scores_shape[1] if len(scores_shape) > 1 else scores_shape[0]
    # min and max settle the common case (valid targets, the default ignore_index -100) cheaply
    in_range = not indices.size or (np.minimum.reduce(indices) >= 0 and np.maximum.reduce(indices) < classes)
    if in_range and not 0 <= ignore_index < classes:
        return indices, None
    counted = indices != ignore_index
    invalid = counted & ((indices < 0) | (indices >= classes))
    if invalid.any():
        raise IndexError(
            f"{loss}: target {indices[invalid][0]} is out of bounds; class indices must be in [0, {classes - 1}] "
            f"or equal ignore_index ({ignore_index})"
        )
    if counted.all():
        return indices, None
    return np.where(counted, indices, 0), counted


def _class_weights(weight: Any, input: Tensor, loss: str) -> np.ndarray | None:
    """``weight`` (one rescaling factor per class, or None) as an array of the input's dtype."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(f"{loss}: weight must be a tensor of class weights, got {weight!r}; pass reduction= by name")
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise RuntimeError(f"{loss} is not differentiable with respect to argument 'weight'; pass weight.detach()")
    array = weight.data if isinstance(weight, Tensor) else weight
    if isinstance(array, np.ndarray) and array.dtype != input.dtype:
        raise RuntimeError(f"{loss}: weight has dtype {array.dtype} but input has dtype {input.dtype}; they must match")
    array = np.asarray(array, dtype=input.dtype)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if array.shape != (classes,):
        raise RuntimeError(
            f"{loss}: weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(array.shape)}"
        )
    return array


def _row_weights(
    weights: np.ndarray | None, indices: np.ndarray, counted: np.ndarray | None, dtype: np.dtype
) -> np.ndarray | None:
    """Each row's factor: its target's class weight, 0 for ignored rows; None when all are 1."""
    if counted is None:
        return None if weights is None else weights[indices]
    factors = counted.astype(dtype)
    return factors if weights is None else factors * weights[indices]


def _row_loss(
    parents: tuple[Tensor, ...],
    losses: np.ndarray,
    out_shape: tuple[int, ...],
    input_grad: Callable[[np.ndarray], np.ndarray],
    restore: Callable[[np.ndarray], np.ndarray],
    reduction: str,
    target_grad: Callable[[np.ndarray], np.ndarray] | None = None,
    divisor: float | None = None,
    counted: np.ndarray | None = None,
) -> Tensor:
    """One op for a loss with one value per row of class scores: ``input_grad(w)`` maps the
    row weights ``w`` (upstream gradient after the reduction, shaped (rows, 1) or 0-d) to the
    (rows, C) gradient. "mean" divides by ``divisor`` (default: the number of rows); rows
    outside the ``counted`` mask get exactly zero gradient, even when that divisor is 0."""
    check_reduction(reduction)
    out = _reduce(losses, reduction, divisor).reshape(out_shape if reduction == "none" else ())
    rows = losses.shape[0]
    divisor = rows if divisor is None else divisor

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # one weight per row, or one for all rows (a 0-d array broadcasts the same way)
        weights = g.reshape(rows, 1) if reduction == "none" else g
        if reduction == "mean":
            weights = _divide(g, divisor)
        if counted is not None:
            weights = np.where(counted[:, None], weights, 0)
        grads = [restore(input_grad(weights)) if parents[0].requires_grad else None]
        if len(parents) > 1:
            wants_target = target_grad is not None and parents[1].requires_grad
            grads.append(restore(target_grad(weights)) if wants_target else None)
        return tuple(grads)

    return from_op(out, parents, backward)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log-softmax over dim 1 (dim 0 for 1-D input) and negative log-likelihood, fused.

    ``target`` holds class indices (integers, input's shape without the class dim) or class
    probabilities (floats, input's shape). As in torch: ``weight`` rescales each class, and
    with class indices "mean" divides by the summed weights of the counted rows; rows whose
    target is ``ignore_index`` count for nothing (all ignored: the mean is nan);
    ``label_smoothing`` mixes the target with the uniform distribution."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    class_weights = _class_weights(weight, input, "cross_entropy")
    scores, restore = _class_rows(input.data)
    classes = scores.shape[1]
    out_shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    divisor = counted = None
    if target.dtype.kind in "iu":
        indices, counted = _class_indices(target, input.shape, "cross_entropy", ignore_index)
        rows = np.arange(indices.size)
        row_weights = _row_weights(class_weights, indices, counted, input.dtype)
        if row_weights is not None:
            divisor = row_weights.sum()
        if label_smoothing == 0.0 and classes:  # the common case, kept lean: logsumexp - picked score
            # Along short rows numpy's axis-1 max and sum and (rows, indices) indexing cost several
            # µs each; argmax, a flat take and a product with ones give the same values in ~1 µs.
            starts = rows * classes
            targets = starts + indices  # each row's target, as an index into the flattened scores
            shifted = scores - scores.take(starts + scores.argmax(axis=1))[:, None]
            exp = np.exp(shifted)
            total = np.matmul(exp, np.ones(classes, exp.dtype))
            losses = np.log(total) - shifted.take(targets)
            if row_weights is not None:
                losses = losses * row_weights

            def input_grad(weights: np.ndarray) -> np.ndarray:
                grad = exp / total[:, None]
                grad.reshape(-1)[targets] -= 1
                grad *= weights if row_weights is None else weights * row_weights[:, None]
                return grad

            return _row_loss((input,), losses, out_shape, input_grad, restore, reduction, None, divisor, counted)
        # torch: (1 - s) * weighted NLL + s / C * (-sum_c weight_c log p_c), the mean of both
        # parts taken over the counted rows' weights; as one target distribution per row:
        smoothed = np.zeros_like(scores)
        smoothed[rows, indices] = (1.0 - label_smoothing) * (1 if row_weights is None else row_weights)
        smoothed += label_smoothing / classes * (1 if class_weights is None else class_weights)
        if counted is not None:
            smoothed *= counted[:, None]
        parents: tuple[Tensor, ...] = (input,)
    else:
        if ignore_index >= 0:
            raise RuntimeError(
                "cross_entropy: ignore_index is not supported for floating point target (class probabilities)"
            )
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: probability target of shape {target.shape} differs from input shape {input.shape}"
            )
        smoothed = _class_rows(target.data.astype(input.dtype, copy=False))[0]
        if label_smoothing:
            smoothed = smoothed * (1.0 - label_smoothing) + label_smoothing / classes
        if class_weights is not None:
            smoothed = smoothed * class_weights
        parents = (input, target)
    log_p = _log_softmax(scores, 1)
    losses = -(smoothed * log_p).sum(axis=1)

    def smoothed_grad(weights: np.ndarray) -> np.ndarray:
        return (np.exp(log_p) * smoothed.sum(axis=1, keepdims=True) - smoothed) * weights

    def probability_grad(weights: np.ndarray) -> np.ndarray:
        per_class = (1.0 - label_smoothing) * (1 if class_weights is None else class_weights)
        return -log_p * per_class * weights

    return _row_loss(parents, losses, out_shape, smoothed_grad, restore, reduction, probability_grad, divisor, counted)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (N, C[, d...]) or (C,);
    ``weight`` and ``ignore_index`` as in :func:`cross_entropy`."""
    check_reduction(reduction)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {target.dtype}")
    class_weights = _class_weights(weight, input, "nll_loss")
    scores, restore = _class_rows(input.data)
    indices, counted = _class_indices(target, input.shape, "nll_loss", ignore_index)
    rows = np.arange(indices.size)
    out_shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    row_weights = _row_weights(class_weights, indices, counted, input.dtype)
    losses = -scores[rows, indices]
    divisor = None
    if row_weights is not None:
        losses = losses * row_weights
        divisor = row_weights.sum()

    def input_grad(weights: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(scores)
        grad[rows, indices] = -1 if row_weights is None else -row_weights
        grad *= weights
        return grad

    return _row_loss((input,), losses, out_shape, input_grad, restore, reduction, None, divisor, counted)
