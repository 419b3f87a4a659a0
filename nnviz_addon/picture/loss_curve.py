"""The loss curve's plan: each loss's points, colour, growth and tip marker per record, the axes,
their labels and the key (pure numpy, no bpy). ``scene.loss_curve`` only writes it.

One poly line through every finite loss (x: record, so time in the video runs left to right at a
steady pace; z: the loss, on a log scale when it spans more than two decades). The initial
record's loss is NaN (no step taken yet) and any other non-finite loss is skipped. A run with a
test split gets the test loss as a second curve on the same axes, and a key naming both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..history import History, keys
from .colormap import linear_rgba
from .shapes import CHAR_WIDTH, Bounds, Label
from .view_layout import NEURON_RADIUS, Rect

LOG_SCALE_DECADES = 2.0  # a loss spanning more than this many powers of ten is drawn on a log scale
# Each loss's colour (sRGB): the training loss a warm yellow, the test loss a cool blue beside it.
CURVE_SRGB = {"loss": (1.0, 0.78, 0.25), "test loss": (0.45, 0.8, 1.0)}
AXIS_SRGB = (0.4, 0.4, 0.4)


@dataclass(frozen=True)
class Curve:
    """One loss drawn: ``points`` (P, 3) through its finite losses, a tube ``tube_radius`` thick in
    ``rgba`` (1, 4) growing to ``bevel_end`` (records,) of its length at each record; its tip
    marker at ``marker_x``/``marker_z`` (records,) scaled ``marker_scale`` (records,) (0 before the
    first drawn loss)."""

    name: str
    points: np.ndarray
    rgba: np.ndarray
    tube_radius: float
    bevel_end: np.ndarray
    marker_x: np.ndarray
    marker_z: np.ndarray
    marker_scale: np.ndarray


@dataclass(frozen=True)
class LossCurvePlan:
    """The curves keyed at ``frames``; the two axis bars (``axis_centres`` (2, 3), ``axis_rgba``,
    ``axis_scales`` of the unit square); the axis labels; the key's labels and colours (empty with
    one curve); ``log``: the vertical scale is log10; ``bounds``: the box the view takes."""

    frames: np.ndarray
    curves: list[Curve]
    axis_centres: list[list[float]]
    axis_rgba: np.ndarray
    axis_scales: tuple[tuple[float, float, float], tuple[float, float, float]]
    labels: list[Label]
    key: list[tuple[str, Label, np.ndarray]]  # (series name, label, linear rgba (4,))
    log: bool
    bounds: Bounds


def loss_heights(loss: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(records with a finite loss, their heights in [0, 1], log scale?) for a History's ``loss``,
    on one vertical scale with the ``others`` (a test loss drawn beside it).

    On a log scale, losses <= 0 are skipped too (they have no logarithm).
    """
    loss = np.asarray(loss, dtype=np.float64)
    every = np.concatenate([loss, *(np.asarray(other, dtype=np.float64) for other in others)])
    positive = every[np.isfinite(every) & (every > 0)]
    log = positive.size >= 2 and np.log10(positive.max() / positive.min()) > LOG_SCALE_DECADES
    low, high = _range(every, log)
    finite = np.flatnonzero(np.isfinite(loss) & ((loss > 0) if log else True))
    values = np.log10(loss[finite]) if log else loss[finite]
    if values.size == 0:
        return finite, values, bool(log)
    heights = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
    return finite, heights, bool(log)


def _range(values: np.ndarray, log: bool) -> tuple[float, float]:
    """The lowest and highest finite value (their log10 on a log scale) the curves are drawn between."""
    kept = values[np.isfinite(values) & ((values > 0) if log else True)]
    if kept.size == 0:
        return 0.0, 0.0
    kept = np.log10(kept) if log else kept
    return float(kept.min()), float(kept.max())


def bevel_end_factors(loss: np.ndarray) -> np.ndarray:
    """``bevel_factor_end`` at each record: the curve reaches the last point drawn so far."""
    drawn = np.flatnonzero(np.isfinite(np.asarray(loss, dtype=np.float64)))
    if len(drawn) < 2:
        raise ValueError(f"bevel_end_factors: need at least 2 finite losses to draw a curve, "
                         f"got {len(drawn)}")
    # Points drawn up to and including each record, minus one: the segments shown.
    shown = np.searchsorted(drawn, np.arange(len(loss)), side="right") - 1
    return np.clip(shown, 0, None) / (len(drawn) - 1)


def curve_series(history: History) -> dict[str, np.ndarray]:
    """The losses drawn: the training loss, and the test loss when the run held out a test split."""
    series = {"loss": np.asarray(history.loss, dtype=np.float64)}
    if keys.TEST_LOSS in history.metrics:
        series["test loss"] = np.asarray(history.metrics[keys.TEST_LOSS], dtype=np.float64)
    return series


def plan(history: History, frames: np.ndarray, placement: Rect) -> LossCurvePlan | None:
    """The loss curve (and the test loss's beside it) inside ``placement``, growing at ``frames``
    (one per record); None when the History has fewer than two finite losses (nothing is drawn)."""
    series = curve_series(history)
    every = list(series.values())
    drawn_records = {name: loss_heights(values, *every) for name, values in series.items()}
    series = {name: values for name, values in series.items() if len(drawn_records[name][0]) >= 2}
    if "loss" not in series:
        return None
    log = drawn_records["loss"][2]
    rect, size = placement, placement.text_size
    low, high = _range(np.concatenate(list(series.values())), log)
    high_text, low_text = (f"{10 ** v if log else v:.3g}" for v in (high, low))
    caption = "loss (log)" if log else "loss"
    label_size = 0.8 * size
    label_width = max(len(high_text), len(low_text), len(caption)) * CHAR_WIDTH * label_size
    x0, x1 = rect.left + label_width + 0.6 * size, rect.right
    z0, z1 = rect.bottom + 0.3 * size, rect.top - 0.3 * size
    first = min(int(drawn_records[name][0][0]) for name in series)
    last = max(int(drawn_records[name][0][-1]) for name in series)
    tube_radius = 0.09 * size
    curves = []
    for name, values in series.items():
        drawn, heights, _ = drawn_records[name]
        xs = x0 + (drawn - first) / (last - first) * (x1 - x0)
        zs = z0 + heights * (z1 - z0)
        curves.append(_curve(history, name, values, drawn, xs, zs, tube_radius))

    thickness = 0.05 * size
    label_x = x0 - 0.6 * size
    labels = [Label(text, (label_x, 0.0, z), label_size, "RIGHT")
              for text, z in ((high_text, z1 - 0.5 * label_size), (caption, (z0 + z1) / 2 - 0.35 * label_size),
                              (low_text, z0 - 0.3 * label_size))]
    key = []
    if len(series) > 1:  # each curve's name in its colour, at the plot's top right
        for row, name in enumerate(reversed(list(series))):
            label = Label(name if name != "loss" else "training loss",
                          (x1, -0.2, z1 - (row + 0.9) * label_size * 1.3), label_size, "RIGHT")
            key.append((name, label, linear_rgba(np.array(CURVE_SRGB[name]))))
    return LossCurvePlan(
        frames=np.asarray(frames, dtype=np.float64), curves=curves,
        axis_centres=[[x0 - 0.3 * size, 0.1, (z0 + z1) / 2], [(x0 + x1) / 2, 0.1, z0 - 0.3 * size]],
        axis_rgba=linear_rgba(np.array([AXIS_SRGB, AXIS_SRGB])),
        axis_scales=((thickness, 1.0, z1 - z0 + 0.6 * size), (x1 - x0 + 0.6 * size, 1.0, thickness)),
        labels=labels, key=key, log=log,
        bounds=((rect.left, -tube_radius, rect.bottom), (x1 + tube_radius, tube_radius, rect.top)))


def _curve(history: History, name: str, values: np.ndarray, drawn: np.ndarray, xs: np.ndarray, zs: np.ndarray,
           tube_radius: float) -> Curve:
    # The tip marker sits on the last point drawn so far and slides along each segment as it grows.
    # Before the first drawn loss (record 0 has none) there is no tip: the marker is scaled to nothing,
    # rather than marking a loss the counter doesn't show yet.
    tip = np.searchsorted(drawn, np.arange(history.records), side="right") - 1
    marker_scale = np.where(tip >= 0, 2.2 * tube_radius / NEURON_RADIUS, 0.0)
    tip = np.clip(tip, 0, None)
    return Curve(name=name, points=np.column_stack([xs, np.zeros_like(xs), zs]),
                 rgba=linear_rgba(np.array([CURVE_SRGB[name]])), tube_radius=tube_radius,
                 bevel_end=bevel_end_factors(np.where(np.isin(np.arange(len(values)), drawn), values, np.nan)),
                 marker_x=xs[tip], marker_z=zs[tip], marker_scale=marker_scale)
