"""Conv2d with torch's arguments, initialisation and state_dict names (``weight`` is (out, in, kh, kw))."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, float32
from . import init
from .module import Module
from .parameter import Parameter
from .spatial import PaddingArg, conv2d, conv_padding, pair


class Conv2d(Module):
    """2D convolution (cross-correlation) of (N, C, H, W) input, zero padded.

    Initialised as torch does: kaiming_uniform(a=√5) for the weight, i.e. U(-1/√fan_in, 1/√fan_in)
    with fan_in = in_channels·kh·kw, and the same bound for the bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if groups != 1:
            raise ValueError(f"Conv2d: groups={groups} is not supported (only groups=1)")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode={padding_mode!r} is not supported; allowed: 'zeros'")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: in_channels and out_channels must be positive, got {in_channels}, "
                             f"{out_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        conv_padding(self.padding, self.kernel_size, self.stride, self.dilation)  # refuse bad padding now
        dtype = float32 if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((out_channels, in_channels, *self.kernel_size), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            bound = 1 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound, generator=generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4) or input.shape[-3] != self.in_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W) or "
                             f"({self.in_channels}, H, W), got {input.shape}")
        try:
            return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)
        except ValueError as error:
            raise ValueError(f"{self!r}: {error}") from None

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"  # torch writes padding=same, unquoted
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
