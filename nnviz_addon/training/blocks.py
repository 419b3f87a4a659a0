"""The modules a layer-table transformer needs beyond the engine's torch look-alikes.

torch has no layer for a learned positional embedding, for a residual block, or for a causal
encoder layer that makes its own mask, so users write these three themselves; they are written
here the way such a user would, out of engine parts, keeping torch's parameter names underneath
(``2.self_attn.in_proj_weight`` of a causal block is the key torch's ``TransformerEncoderLayer``
gives it), so their state_dicts load into the same torch model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Tensor, nn
from ..engine.nn import init
from ..engine.nn.transformer import generate_square_subsequent_mask


class PositionalEmbedding(nn.Module):
    """A learned vector per position, ``weight`` (length, dim), added to a (N, length, dim) input;
    drawn from N(0, 1) like a token embedding, so neither swamps the other at the start."""

    def __init__(self, length: int, dim: int, dtype: Any = np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.empty((length, dim), dtype=dtype))
        init.normal_(self.weight, generator=generator)

    def forward(self, input: Tensor) -> Tensor:
        return input + self.weight

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"


class Residual(nn.Module):
    """``x + layers(x)``: the residual stream around a stack of layers (keys ``layers.0.…``)."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, input: Tensor) -> Tensor:
        return input + self.layers(input)


class CausalEncoderLayer(nn.TransformerEncoderLayer):
    """A batch-first ``TransformerEncoderLayer`` whose positions see only themselves and earlier
    ones: it passes the causal mask torch's ``is_causal`` asks for, so it can sit in a Sequential."""

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        if src_mask is None:
            src_mask = generate_square_subsequent_mask(src.shape[-2], dtype=src.dtype)
        return super().forward(src, src_mask, src_key_padding_mask, is_causal=True)
