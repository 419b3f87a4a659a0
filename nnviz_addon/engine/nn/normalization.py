"""LayerNorm, BatchNorm1d and BatchNorm2d with torch's parameters, buffers and state_dict names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._tensor import Tensor, float32, int64
from . import functional as F
from .module import Module
from .parameter import Parameter


def _add_affine(module: Module, shape: tuple[int, ...], affine: bool, bias: bool, dtype: np.dtype) -> None:
    """A norm layer's learnable scale (ones) and shift (zeros), or None for each one it goes without."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, dtype=dtype)) if affine and bias else None)

class LayerNorm(Module):
    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = float32 if dtype is None else np.dtype(dtype)
        _add_affine(self, shape, elementwise_affine, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class _BatchNorm(Module):
    """Batch normalisation per channel (dim 1). Training normalises with the batch statistics and
    updates ``running_mean``/``running_var`` (unbiased) by ``momentum``, or by a cumulative average
    when ``momentum`` is None; eval mode uses the running statistics."""

    _input_shapes: ClassVar[dict[int, str]] = {}  # accepted input ndim → its shape as text, for errors

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = float32 if dtype is None else np.dtype(dtype)
        _add_affine(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._input_shapes or input.shape[1] != self.num_features:
            shapes = " or ".join(shape.format(c=self.num_features) for shape in self._input_shapes.values())
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of shape {shapes}, "
                             f"got {input.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.data)
        return F.batch_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input."""

    _input_shapes: ClassVar[dict[int, str]] = {2: "(N, {c})", 3: "(N, {c}, L)"}


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel over the batch and the pixels."""

    _input_shapes: ClassVar[dict[int, str]] = {4: "(N, {c}, H, W)"}
