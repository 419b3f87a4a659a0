"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d, as in torch (stride defaults to the kernel size)."""

from __future__ import annotations

from collections.abc import Sequence

from .._tensor import Tensor
from .module import Module
from .spatial import adaptive_avg_pool2d, avg_pool2d, max_pool2d


def _checked(module: Module, op: object, input: Tensor, *args: object) -> Tensor:
    """``op(input, *args)``, its ValueError naming the layer too."""
    try:
        return op(input, *args)  # type: ignore[operator]
    except ValueError as error:
        raise ValueError(f"{module!r}: {error}") from None


class MaxPool2d(Module):
    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return _checked(self, max_pool2d, input, self.kernel_size, self.stride, self.padding, self.dilation,
                        self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return _checked(self, avg_pool2d, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return _checked(self, adaptive_avg_pool2d, input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
