"""Parameter: a leaf tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor, _as_array


class Parameter(Tensor):
    """A tensor that requires a gradient by default and is found by ``Module.parameters()``.
    ``Parameter(tensor)`` shares the tensor's array, as in torch."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(_as_array([] if data is None else data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
