"""The array-level forward and backward of a linear layer and of layer normalisation, on rows.

Two callers share them: the single ops of ``nn.functional`` (``linear``, ``layer_norm``), which
wrap one kernel pair in one graph node, and the fused ``TransformerEncoderLayer`` step
(``encoder_step``), which chains several in one node. Inputs are 2-D: one row per sample (a
batch of sequences is its N·L positions), so every product is one BLAS call and every per-row
mean is a product with a constant vector.
"""

from __future__ import annotations

import math

import numpy as np

from .._tensor import first_axis_sum, last_axis_sum


def linear_rows(rows: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``rows @ weight.T + bias``; ``weight`` is (out_features, in_features)."""
    out = np.matmul(rows, weight.T)
    if bias is not None:
        out += bias
    return out


def linear_rows_backward(
    rows_g: np.ndarray, rows: np.ndarray, weight: np.ndarray, wants: tuple[bool, bool, bool]
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of the rows, the weight and the bias (None where ``wants`` says no)."""
    if not rows_g.flags.c_contiguous:  # e.g. the broadcast gradient of a .sum(): matmul would not use BLAS
        rows_g = np.ascontiguousarray(rows_g)
    return (
        np.matmul(rows_g, weight) if wants[0] else None,
        np.matmul(rows_g.T, rows) if wants[1] else None,
        first_axis_sum(rows_g) if wants[2] else None,
    )


def layer_norm_rows(
    rows: np.ndarray, scale: np.ndarray | None, bias: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x - mean) / sqrt(var + eps) * scale + bias along each row (biased variance, as torch).
    Returns the output, the normalised rows and 1/sqrt(var + eps) as a column: the backward's
    inputs."""
    width = rows.shape[1]
    inverse_width = 1.0 / width if width else math.nan
    normed = rows - last_axis_sum(rows, inverse_width)  # centred here, normalised in place below
    # 1 / sqrt(variance + eps), each step in place on the one small per-row array
    rstd = np.einsum("ij,ij->i", normed, normed)  # one pass, no squared temporary
    rstd *= rows.dtype.type(inverse_width)
    rstd += rows.dtype.type(eps)
    rstd = np.reciprocal(np.sqrt(rstd, out=rstd), out=rstd)[:, None]
    normed *= rstd
    if scale is None and bias is None:
        return normed, normed, rstd
    out = normed * scale if scale is not None else normed.copy()
    if bias is not None:
        out += bias
    return out, normed, rstd


def layer_norm_rows_backward(
    rows_g: np.ndarray,
    normed: np.ndarray,
    rstd: np.ndarray,
    scale: np.ndarray | None,
    wants: tuple[bool, bool, bool],
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of the rows, the scale and the bias (None where ``wants`` says no)."""
    rows_g = np.ascontiguousarray(rows_g)
    grad = None
    if wants[0]:
        # d/dx of (x - mean) * rstd: the components of g·scale along the mean and along the
        # normalised vector are projected out, then scaled by rstd.
        inverse_width = 1.0 / normed.shape[1] if normed.shape[1] else math.nan
        scaled = rows_g * scale if scale is not None else rows_g
        mean_dot = np.einsum("ij,ij->i", scaled, normed)
        mean_dot *= normed.dtype.type(inverse_width)
        grad = scaled - last_axis_sum(scaled, inverse_width)
        grad -= normed * mean_dot[:, None]
        grad *= rstd
    # every row is one sample of the scale and the bias
    return (
        grad,
        np.einsum("ij,ij->j", rows_g, normed) if wants[1] else None,
        first_axis_sum(rows_g) if wants[2] else None,
    )
