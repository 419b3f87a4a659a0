"""The loss as a 3D curve that grows while the run plays.

One poly spline through every finite loss (x: record, so time in the video runs left to right at a
steady pace; z: the loss, on a log scale when it spans more than two decades), drawn as a bevelled
tube whose ``bevel_factor_end`` is keyed from 0 to 1. With ``bevel_factor_mapping_end =
'RESOLUTION'`` the factor counts the poly spline's points, not its length ('SPLINE' and 'SEGMENTS'
both follow length, so a noisy, steep start would eat most of the factor), and factor ``k / (n - 1)``
ends exactly at point ``k`` however steeply the loss falls. A small marker rides on the curve's
tip. The initial record's loss is NaN (no step taken yet) and any other non-finite loss is skipped.
A run with a test split gets the test loss as a second curve on the same axes, and a key naming both.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..history import History
from ..layout import CHAR_WIDTH, Label
from ..view_layout import NEURON_RADIUS, Bounds, Rect
from . import keyframes, objects
from .task_views import linear_rgba

LOG_SCALE_DECADES = 2.0  # a loss spanning more than this many powers of ten is drawn on a log scale
# Each loss's colour (sRGB): the training loss a warm yellow, the test loss a cool blue beside it.
CURVE_SRGB = {"loss": (1.0, 0.78, 0.25), "test loss": (0.45, 0.8, 1.0)}
AXIS_SRGB = (0.4, 0.4, 0.4)


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
    if "test_loss" in history.metrics:
        series["test loss"] = np.asarray(history.metrics["test_loss"], dtype=np.float64)
    return series


def add_loss_curve(parent: bpy.types.Collection, history: History, record_frames: np.ndarray,
                   placement: Rect) -> Bounds | None:
    """Draw the loss curve (and the test loss's beside it, with a key naming both) with its axes and
    min/max labels inside ``placement`` (collection ``nnviz · loss`` under ``parent``), growing at
    ``record_frames``. Returns the box it used, or None when the History has fewer than two finite
    losses (nothing is drawn then)."""
    record_frames = objects.record_frames_of(history, record_frames, "add_loss_curve")
    series = curve_series(history)
    every = list(series.values())
    drawn_records = {name: loss_heights(values, *every) for name, values in series.items()}
    series = {name: values for name, values in series.items() if len(drawn_records[name][0]) >= 2}
    if "loss" not in series:
        return None
    log = drawn_records["loss"][2]
    rect, size = placement, placement.text_size
    collection = objects.new_collection("nnviz · loss", parent)
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
    for name, values in series.items():
        drawn, heights, _ = drawn_records[name]
        xs = x0 + (drawn - first) / (last - first) * (x1 - x0)
        zs = z0 + heights * (z1 - z0)
        _add_curve(collection, history, record_frames, name, values, drawn, xs, zs, tube_radius)

    thickness = 0.05 * size
    axis_rgba = linear_rgba(np.array([AXIS_SRGB, AXIS_SRGB]))
    centres = [[x0 - 0.3 * size, 0.1, (z0 + z1) / 2], [(x0 + x1) / 2, 0.1, z0 - 0.3 * size]]
    axes, _ = objects.new_objects(["loss · axis y", "loss · axis x"], objects.square_mesh(), collection, centres,
                                  axis_rgba)
    axes[0].scale = (thickness, 1.0, z1 - z0 + 0.6 * size)
    axes[1].scale = (x1 - x0 + 0.6 * size, 1.0, thickness)
    label_x = x0 - 0.6 * size
    for text, z in ((high_text, z1 - 0.5 * label_size), (caption, (z0 + z1) / 2 - 0.35 * label_size),
                    (low_text, z0 - 0.3 * label_size)):
        objects.add_label(Label(text, (label_x, 0.0, z), label_size, "RIGHT"), f"loss · {text}", collection)
    if len(series) > 1:  # the key: each curve's name in its colour, at the plot's top right
        for row, name in enumerate(reversed(list(series))):
            label = objects.add_label(Label(name if name != "loss" else "training loss",
                                            (x1, -0.2, z1 - (row + 0.9) * label_size * 1.3), label_size, "RIGHT"),
                                      f"loss · key {name}", collection)
            label.color = linear_rgba(np.array(CURVE_SRGB[name]))
    bpy.data.objects["loss · curve"]["nnviz_log_scale"] = log
    return (rect.left, -tube_radius, rect.bottom), (x1 + tube_radius, tube_radius, rect.top)


def _add_curve(collection: bpy.types.Collection, history: History, record_frames: np.ndarray, name: str,
               values: np.ndarray, drawn: np.ndarray, xs: np.ndarray, zs: np.ndarray, tube_radius: float) -> None:
    """One loss's tube through (xs, zs), growing at each record, and the marker on its tip."""
    # The growth is keyed on the curve datablock (a CURVE id), not on its object.
    (action,) = keyframes.new_actions([f"nnviz · {name} curve"], id_type="CURVE")
    curve = objects.tagged(bpy.data.curves.new(f"nnviz · {name} curve", type="CURVE"))
    curve.dimensions = "3D"
    curve.bevel_depth = tube_radius
    curve.bevel_resolution = 2
    curve.use_fill_caps = True
    curve.bevel_factor_mapping_start = "RESOLUTION"
    curve.bevel_factor_mapping_end = "RESOLUTION"
    curve.materials.append(objects.object_color_material())
    spline = curve.splines.new("POLY")
    spline.points.add(len(drawn) - 1)
    spline.points.foreach_set("co", np.column_stack([xs, np.zeros_like(xs), zs, np.ones_like(xs)]).ravel())
    factors = bevel_end_factors(np.where(np.isin(np.arange(len(values)), drawn), values, np.nan))
    curve.bevel_factor_end = float(factors[0])
    curve_rgba = linear_rgba(np.array([CURVE_SRGB[name]]))
    objects.new_objects([f"{name} · curve"], curve, collection, np.zeros((1, 3)), curve_rgba)
    objects.key(curve, action, record_frames, {("bevel_factor_end", 0): factors})

    # The tip marker sits on the last point drawn so far and slides along each segment as it grows.
    # Before the first drawn loss (record 0 has none) there is no tip: the marker is scaled to nothing,
    # rather than marking a loss the counter doesn't show yet.
    tip = np.searchsorted(drawn, np.arange(history.records), side="right") - 1
    marker_scale = np.where(tip >= 0, 2.2 * tube_radius / NEURON_RADIUS, 0.0)
    tip = np.clip(tip, 0, None)
    marker, actions = objects.new_objects([f"{name} · tip"], objects.sphere_mesh(), collection,
                                          [[xs[tip[0]], -0.1, zs[tip[0]]]], curve_rgba, keyed=True)
    marker[0].scale = (float(marker_scale[0]),) * 3
    objects.key(marker[0], actions[0], record_frames,
                {("location", 0): xs[tip], ("location", 2): zs[tip],
                 **{("scale", axis): marker_scale for axis in range(3)}})
