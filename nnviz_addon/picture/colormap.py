"""The diverging colour map: parameter values → RGBA, pure numpy.

Negative values are blue, zero is an off-white neutral, positive values are red. The control colours
are ColorBrewer's 9-class RdBu (designed for perceptually even steps), interpolated piecewise
linearly in sRGB the way plotting libraries do, then converted to *linear* RGB because that is what
Blender stores in ``Object.color`` and shades with. The darkest 11-class ends are left out: they sink
into the dark background.
"""

from __future__ import annotations

import numpy as np

# sRGB (0-255) control colours from the most negative (blue) to the most positive (red) value.
_STOPS_SRGB8 = np.array(
    [
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
    ],
    dtype=np.float64,
)
_STOP_POSITIONS = np.linspace(-1.0, 1.0, len(_STOPS_SRGB8))

# Shown for values that are not finite (a diverged step): a mid grey no value maps to.
NAN_COLOR_SRGB = (0.5, 0.5, 0.5)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """The sRGB transfer function inverted (IEC 61966-2-1), element-wise on values in [0, 1]."""
    srgb = np.asarray(srgb, dtype=np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (what Blender's 'Standard' view transform applies), element-wise."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def linear_rgba(srgb: np.ndarray) -> np.ndarray:
    """Display sRGB in [0, 1] (..., 3) → linear RGBA (..., 4) with alpha 1, for ``Object.color``."""
    rgb = srgb_to_linear(np.clip(np.asarray(srgb, dtype=np.float64), 0.0, 1.0))
    return np.concatenate([rgb, np.ones((*rgb.shape[:-1], 1))], axis=-1)


def finite_peak(values: np.ndarray) -> float:
    """The largest finite |value| (0 when there is none): a scale that puts it at the map's end."""
    finite = np.abs(np.asarray(values, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def normalize(values: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """Values divided by their symmetric scale and clipped to [-1, 1]; a scale of 0 maps all to 0."""
    values = np.asarray(values, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale < 0) or not np.all(np.isfinite(scale)):
        raise ValueError(f"colormap: scale must be finite and >= 0, got {scale}")
    normalized = values / np.where(scale > 0, scale, np.inf)  # zero scale: everything is neutral
    return np.clip(normalized, -1.0, 1.0)


def colors_srgb(values: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """RGB in display sRGB [0, 1], shape ``values.shape + (3,)`` (for legends and tests)."""
    t = normalize(values, scale)
    rgb = np.stack([np.interp(t, _STOP_POSITIONS, _STOPS_SRGB8[:, c] / 255.0) for c in range(3)], axis=-1)
    rgb[~np.isfinite(t)] = NAN_COLOR_SRGB
    return rgb


# The map in linear RGB, tabulated at evenly spaced normalised values: interpolating this table
# is within 2e-7 of the exact map (far below one 8-bit step) and several times faster than
# evaluating the sRGB transfer function for every value, which dominated keying big runs.
_TABLE_INTERVALS = 4096
_TABLE_LINEAR = srgb_to_linear(colors_srgb(np.linspace(-1.0, 1.0, _TABLE_INTERVALS + 1), 1.0))
_NAN_COLOR_LINEAR = srgb_to_linear(np.array(NAN_COLOR_SRGB))


def colors(values: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """RGBA in linear RGB, shape ``values.shape + (4,)``, alpha 1: what goes into ``Object.color``.

    ``scale`` is the |value| that reaches the end of the map (broadcast against ``values``); larger
    magnitudes are clipped to the end colours.
    """
    t = normalize(values, scale)
    finite = np.isfinite(t)
    position = (np.where(finite, t, 0.0) + 1.0) * (_TABLE_INTERVALS / 2)
    below = np.minimum(position.astype(np.intp), _TABLE_INTERVALS - 1)
    fraction = position - below
    rgba = np.ones((*t.shape, 4))
    for channel in range(3):  # channel by channel: gathering from 1-D tables is much faster
        table = _TABLE_LINEAR[:, channel]
        low = table[below]
        rgba[..., channel] = low + (table[below + 1] - low) * fraction
    rgba[~finite, :3] = _NAN_COLOR_LINEAR
    return rgba
