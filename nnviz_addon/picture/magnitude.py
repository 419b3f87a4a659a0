"""How large a cube is drawn: per-record gradient or update magnitudes → cube sizes, pure numpy.

Colour shows a weight's value; size can show how strongly it is being pushed. ``"gradient"`` draws
|∂L/∂w| as recorded, ``"update"`` draws |Δw|, the change since the previous record (what the
optimiser actually did, momentum and learning rate included). Record 0 is the initial state, before
any step: its update is 0 and its gradient normally all zeros (a History stores zeros where no
gradient existed yet), so it shows the smallest size.

A magnitude is divided by a run-wide scale, a high percentile of the magnitudes rather than their
maximum, so that one outlier step does not shrink every other cube to the minimum; larger magnitudes
are drawn full size. The square root of that fraction sets the size: gradients span orders of
magnitude, and a linear map would leave most cubes indistinguishable from the smallest.
"""

from __future__ import annotations

import numpy as np

from ..catalog import MAGNITUDES
from ..history import History

MODES = tuple(MAGNITUDES)
MIN_SIZE = 0.25  # of a full cube's edge: small enough to tell apart, large enough to see the colour
SCALE_PERCENTILE = 99.0
# Legend entries as fractions of the scale; their square roots are evenly spaced, so are the sizes.
LEGEND_FRACTIONS = (0.0, 1 / 16, 1 / 4, 9 / 16, 1.0)
SYMBOLS = {"gradient": "|∂L/∂w|", "update": "|Δw|"}


def per_record(history: History, mode: str) -> dict[str, np.ndarray]:
    """History key → (records, *shape) float64 magnitudes for ``mode`` ("gradient" or "update")."""
    if mode == "gradient":
        result = {}
        for key, values in history.params.items():
            grads = history.grads.get(key)
            result[key] = np.zeros(values.shape) if grads is None else np.abs(np.asarray(grads, dtype=np.float64))
        return result
    if mode == "update":
        result = {}
        for key, values in history.params.items():
            change = np.zeros(values.shape)
            change[1:] = np.abs(np.diff(np.asarray(values, dtype=np.float64), axis=0))
            result[key] = change
        return result
    raise ValueError(f"magnitude: mode must be 'gradient' or 'update' to have magnitudes, got {mode!r}")


def run_scale(magnitudes: dict[str, np.ndarray], color_scale: str = "global") -> dict[str, float]:
    """History key → the magnitude drawn full size: the ``SCALE_PERCENTILE`` of the run's finite
    magnitudes after record 0, pooled over all tensors (``"global"``) or per tensor (``"layer"``),
    like the colour scale. Falls back to the maximum when the percentile is 0 (mostly-zero
    gradients, such as those of always-blank input pixels), and is 0 only when all are."""
    def scale_of(arrays: list[np.ndarray]) -> float:
        after_start = [a[1:] if len(a) > 1 else a for a in arrays]
        pooled = np.concatenate([a.ravel() for a in after_start]) if after_start else np.zeros(0)
        pooled = pooled[np.isfinite(pooled)]
        if not pooled.size:
            return 0.0
        return float(np.percentile(pooled, SCALE_PERCENTILE)) or float(pooled.max())

    if color_scale == "global":
        return dict.fromkeys(magnitudes, scale_of(list(magnitudes.values())))
    if color_scale == "layer":
        return {key: scale_of([array]) for key, array in magnitudes.items()}
    raise ValueError(f"magnitude: color_scale must be 'global' or 'layer', got {color_scale!r}")


def sizes(magnitudes: np.ndarray, scale: float) -> np.ndarray:
    """Cube edge as a fraction of full size, ``MIN_SIZE`` (0) to 1 (``scale`` and above). Non-finite
    magnitudes are drawn full size; with a scale of 0 everything is the minimum."""
    if not (scale >= 0 and np.isfinite(scale)):
        raise ValueError(f"magnitude: scale must be finite and >= 0, got {scale}")
    magnitudes = np.abs(np.asarray(magnitudes, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = magnitudes / scale if scale > 0 else np.zeros_like(magnitudes)
    fraction = np.nan_to_num(fraction, nan=1.0, posinf=1.0)
    return MIN_SIZE + (1.0 - MIN_SIZE) * np.sqrt(np.clip(fraction, 0.0, 1.0))


def legend_labels(mode: str, scale: float | None) -> tuple[list[str], str]:
    """(a label per ``LEGEND_FRACTIONS`` entry, caption). ``scale`` is the one run-wide scale, or
    None when each tensor has its own (the labels are then fractions of it)."""
    symbol = SYMBOLS[mode]
    what = "gradient" if mode == "gradient" else "change since the previous record"
    top = 1.0 if scale is None else scale
    labels = ["0", *(f"{f * top:.2g}" for f in LEGEND_FRACTIONS[1:-1]), f"≥{top:.2g}"]
    if scale is None:
        return labels, f"size: {symbol} ({what}) ÷ its tensor's {SCALE_PERCENTILE:.0f}th percentile"
    return labels, f"size: {symbol}, {what}"
