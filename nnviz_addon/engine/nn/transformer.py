"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder with torch's constructor
arguments, submodule names and parameter shapes, so state_dicts load both ways.

``MultiheadAttention`` follows torch's two paths: with ``need_weights=False`` (what the encoder
layer asks for) one fused op does the heads' attention (``attention.multi_head_attention``);
with ``need_weights=True`` the weights must be a differentiable output, so the attention is
composed from Tensor ops and the weights are returned from the graph (as torch does, a query
row whose every key is masked gives NaN weights there, and zeros on the fused path).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, float32
from . import functional as F
from . import init
from .attention import additive_mask, multi_head_attention
from .container import ModuleList
from .encoder_step import encoder_layer_step
from .layers import Dropout, Linear
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter


def generate_square_subsequent_mask(size: int, dtype: Any = float32) -> Tensor:
    """The float causal mask torch's ``nn.Transformer.generate_square_subsequent_mask`` gives:
    0 on and below the diagonal, -inf above."""
    return Tensor(np.triu(np.full((size, size), -np.inf, dtype=np.dtype(dtype)), 1))


class MultiheadAttention(Module):
    """Multi-head attention with a packed ``in_proj_weight`` (3·E, E) = [W_q; W_k; W_v] and an
    ``out_proj`` Linear, initialised as torch: Xavier-uniform in-projection, zero biases."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads (got {embed_dim} and {num_heads})")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim != embed_dim")
        self.embed_dim = self.kdim = self.vdim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        dtype = float32 if dtype is None else np.dtype(dtype)
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=generator)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | np.ndarray | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | np.ndarray | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(output, weights): output shaped like ``query``; weights (N, L, S) averaged over heads,
        (N, heads, L, S) otherwise, or None without ``need_weights``. Boolean masks: True =
        *not* attended; float masks are added. ``attn_mask`` is (L, S) or (N·heads, L, S);
        ``key_padding_mask`` is (N, S). ``is_causal`` only says ``attn_mask`` is causal (torch
        requires the mask with it)."""
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use "
                "nn.transformer.generate_square_subsequent_mask to create this mask."
            )
        self_attention = query is key and key is value
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention expects 3-D (or unbatched 2-D) inputs, got {query.shape}, "
                             f"{key.shape}, {value.shape}")
        if query.shape[-1] != self.embed_dim:
            raise ValueError(f"was expecting embedding dimension of {self.embed_dim}, but got {query.shape[-1]}")
        batch_first = self.batch_first
        if not batched:  # one sequence: a batch of one in batch-first layout
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _array(key_padding_mask)[None]
            batch_first = True
        batch, length = _batch_and_length(query, batch_first)
        source = _batch_and_length(key, batch_first)[1]
        mask = self._mask(attn_mask, key_padding_mask, batch, length, source, query.dtype)
        dropout_p = self.dropout if self.training else 0.0

        width, weight, bias = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        if self_attention:  # one in-projection for all three, split inside the attention op
            projected: tuple[Tensor, ...] = (F.linear(query, weight, bias),)
        else:
            rows = [slice(i * width, (i + 1) * width) for i in range(3)]
            projected = tuple(
                F.linear(x, weight[part], None if bias is None else bias[part])
                for part, x in zip(rows, (query, key, value), strict=True)
            )
        weights = None
        if need_weights:
            attended, weights = self._attend_with_weights(projected, mask, dropout_p, batch, batch_first)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        else:
            attended = multi_head_attention(projected, self.num_heads, mask, dropout_p, batch_first)
        out = self.out_proj(attended)
        return (out if batched else out.squeeze(0)), weights

    def _mask(
        self, attn_mask: Any, key_padding_mask: Any, batch: int, length: int, source: int, dtype: np.dtype
    ) -> np.ndarray | None:
        """attn_mask and key_padding_mask as one additive mask that broadcasts to (N, heads, L, S)."""
        mask = None
        if attn_mask is not None:
            mask = additive_mask(attn_mask, true_means_attend=False, dtype=dtype)
            heads = self.num_heads
            if mask.ndim == 2 and mask.shape != (length, source):
                raise RuntimeError(f"The shape of the 2D attn_mask is {mask.shape}, but should be {(length, source)}.")
            if mask.ndim == 3:
                if mask.shape != (batch * heads, length, source):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {mask.shape}, but should be "
                                       f"{(batch * heads, length, source)}.")
                mask = mask.reshape(batch, heads, length, source)
            elif mask.ndim != 2:
                raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported (2 or 3)")
        if key_padding_mask is not None:
            padding = additive_mask(key_padding_mask, true_means_attend=False, dtype=dtype)
            if padding.shape != (batch, source):
                raise RuntimeError(f"key_padding_mask of shape {padding.shape} should be {(batch, source)}")
            padding = padding.reshape(batch, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask

    def _attend_with_weights(
        self, projected: tuple[Tensor, ...], mask: np.ndarray | None, dropout_p: float, batch: int, batch_first: bool
    ) -> tuple[Tensor, Tensor]:
        """The attention as Tensor ops, so the (N, heads, L, S) weights are part of the graph."""
        heads, depth = self.num_heads, self.head_dim
        parts = projected[0].chunk(3, dim=-1) if len(projected) == 1 else projected
        if batch_first:
            q, k, v = (t.reshape(batch, -1, heads, depth).permute(0, 2, 1, 3) for t in parts)
        else:
            q, k, v = (t.reshape(-1, batch, heads, depth).permute(1, 2, 0, 3) for t in parts)
        scores = (q * (1.0 / depth**0.5)) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + Tensor(mask)
        weights = F.dropout(scores.softmax(-1), dropout_p, training=dropout_p > 0)
        out = weights @ v
        merged = out.permute(0, 2, 1, 3) if batch_first else out.permute(2, 0, 1, 3)
        return merged.reshape(*merged.shape[:2], self.embed_dim), weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, " \
               f"batch_first={self.batch_first}"


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and a LayerNorm
    (after the residual sum, or before the block with ``norm_first``), torch's submodule names."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation  # a Module passed in is registered as a child, as in torch

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | np.ndarray | None = None,
        src_key_padding_mask: Tensor | np.ndarray | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        activation = self._fused_activation(src, src_mask, is_causal)
        if activation is not None:
            batch, length = _batch_and_length(src, self.self_attn.batch_first)
            mask = self.self_attn._mask(src_mask, src_key_padding_mask, batch, length, length, src.dtype)
            return encoder_layer_step(self, src, mask, activation)
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _fused_activation(self, src: Tensor, src_mask: Any, is_causal: bool) -> str | None:
        """The activation's unary rule when :func:`encoder_layer_step` computes exactly what the
        submodules would, else None: a batched input that fits; no dropout at work; the engine's own
        submodules with their class's forward (the attention probe swaps in its own); a relu or
        gelu activation; and a mask whenever ``is_causal`` says there is one (without it the
        submodules' path raises torch's error)."""
        if src.ndim != 3 or src.shape[-1] != self.self_attn.embed_dim or (is_causal and src_mask is None):
            return None  # the submodules' path raises torch's errors for these
        parts = (self.self_attn, self.self_attn.out_proj, self.linear1, self.linear2, self.norm1, self.norm2,
                 self.dropout, self.dropout1, self.dropout2)
        for part, kind in zip(parts, _FUSED_PARTS, strict=True):
            if type(part) is not kind or "forward" in vars(part):
                return None
        dropping = any(m.p > 0 and m.training for m in (self.dropout, self.dropout1, self.dropout2))
        if dropping or (self.self_attn.dropout > 0 and self.self_attn.training):
            return None
        return next((rule for function, rule in _FUSED_ACTIVATIONS if function is self.activation), None)

    def _self_attention(self, x: Tensor, mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        attended = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                                  is_causal=is_causal)[0]
        return self.dropout1(attended)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


# The submodules, by class, that the fused step stands in for (in _fused_activation's order), and
# the activations it knows, by the unary rule of each.
_FUSED_PARTS = (MultiheadAttention, Linear, Linear, Linear, LayerNorm, LayerNorm, Dropout, Dropout, Dropout)
_FUSED_ACTIVATIONS: tuple[tuple[Callable[[Tensor], Tensor], str], ...] = ((F.relu, "relu"), (F.gelu, "gelu"))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (keys ``layers.0.…``), then ``norm`` if given."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | np.ndarray | None = None,
        src_key_padding_mask: Tensor | np.ndarray | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


def _batch_and_length(x: Tensor, batch_first: bool) -> tuple[int, int]:
    """(N, L) of a 3-D sequence batch, (N, L, E) if ``batch_first`` else (L, N, E)."""
    return (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])


def _array(mask: Any) -> np.ndarray:
    return mask.data if isinstance(mask, Tensor) else np.asarray(mask)
