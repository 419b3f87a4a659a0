"""The cube plan: for every parameter tensor, its cubes' positions, indices and per-record values,
colours and sizes, and the scales and legend text they are drawn with (pure numpy, no bpy).

Both scene writers take this plan: ``scene.objects`` keys one object per cube with the colours and
sizes computed here; ``scene.instanced`` stores the per-record values and magnitudes and lets a
Geometry Nodes tree apply the same colour map and size rule (:data:`RAMP_POSITIONS` is the map as
the tree's Color Ramp holds it, :func:`ramp_positions`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np

from ..catalog import COLOR_SCALES, COLOR_VALUES
from ..history import History
from . import colormap, magnitude
from .shapes import Block

# A layer's scale when each layer has its own: this percentile of its |values| over the whole run.
ROBUST_PERCENTILE = 99.0
# color_scale = "auto" gives each layer its own scale when a layer's robust range is under
# 1/AUTO_SPREAD of the one global scale: it would then reach less than half of the colour map
# (the map's second stop), and its cubes would read as near white.
AUTO_SPREAD = 2.0


@dataclass(frozen=True)
class CubeScales:
    """How a run's cubes are scaled, decided once for the whole run before the layout exists (the
    layout needs the legends' text). ``color``: History key → |value| at the end of the colour map;
    ``layer_notes``: layer name → what its label adds (its ``±scale`` when each layer has its own);
    ``magnitudes``: key → (records, *shape) |gradient| or |update|, empty with ``magnitude="none"``;
    ``size``: key → the magnitude drawn full size."""

    color: dict[str, float]
    legend_labels: tuple[str, str, str]
    caption: str
    magnitudes: dict[str, np.ndarray] = field(default_factory=dict)
    size: dict[str, float] = field(default_factory=dict)
    size_labels: list[str] = field(default_factory=list)
    size_caption: str = ""
    layer_notes: dict[str, str] = field(default_factory=dict)

    @property
    def sized(self) -> bool:
        return bool(self.magnitudes)


@dataclass(frozen=True)
class TensorCubes:
    """The cubes of one block: ``values`` (records, N) are the History's values at
    ``block.indices``; ``magnitudes`` the (records, N) values the sizes show (None when sizes show
    nothing). Colours and sizes are worked out when first asked for: the instanced writer leaves
    them to its node tree."""

    block: Block
    values: np.ndarray
    color_scale: float
    magnitudes: np.ndarray | None = None
    size_scale: float = 0.0

    @property
    def key(self) -> str:
        return self.block.key

    @cached_property
    def rgba(self) -> np.ndarray:
        """(records, N, 4) linear RGBA."""
        return colormap.colors(self.values, self.color_scale)

    @cached_property
    def sizes(self) -> np.ndarray | None:
        """(records, N) edge as a fraction of a full cube, or None."""
        return None if self.magnitudes is None else magnitude.sizes(self.magnitudes, self.size_scale)


def shown_history(history: History, color_values: str) -> History:
    """The History whose parameters the cubes show: ``history`` itself for ``"value"``; for
    ``"change"``, every record's parameters minus the first record's (w − w₀), so a template that
    forms on top of a random init stands out from it. Everything else is shared, not copied."""
    if color_values == "value":
        return history
    if color_values != "change":
        raise ValueError(f"cubes: color_values must be one of {tuple(COLOR_VALUES)}, got {color_values!r}")
    params = {key: values - values[:1] for key, values in history.params.items()}
    return dataclasses.replace(history, params=params)


def layer_of_keys(history: History) -> dict[str, str]:
    """History key → the name of the layer it is drawn in (a parameter no layer lists is a layer of
    its own, named by its key, as the layout draws it)."""
    named = {key: spec.name for spec in history.structure for key in (spec.weight, spec.bias) if key is not None}
    return {key: named.get(key, key) for key in history.params}


def robust_scale(arrays: Sequence[np.ndarray]) -> float:
    """The ``ROBUST_PERCENTILE`` of the arrays' finite |values| pooled: the few beyond it are drawn
    saturated, so one outlier weight does not turn every other one pale. Falls back to the largest
    |value| when the percentile is 0 (a mostly-zero tensor), and is 0 only when all values are."""
    pooled = np.abs(np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays] or [np.zeros(0)]))
    pooled = pooled[np.isfinite(pooled)]
    if not pooled.size:
        return 0.0
    return float(np.percentile(pooled, ROBUST_PERCENTILE)) or float(pooled.max())


def layer_scales(history: History) -> dict[str, float]:
    """Layer name → :func:`robust_scale` of its weight and bias over all records."""
    members: dict[str, list[np.ndarray]] = {}
    for key, layer in layer_of_keys(history).items():
        members.setdefault(layer, []).append(history.params[key])
    return {layer: robust_scale(arrays) for layer, arrays in members.items()}


def resolved_scale(history: History, color_scale: str) -> str:
    """``"global"`` or ``"layer"``: ``color_scale`` itself, or for ``"auto"`` the one that keeps every
    layer visible: ``"layer"`` when some layer's robust range is under 1/``AUTO_SPREAD`` of the one
    global scale (its cubes would stay near white), else ``"global"``."""
    if color_scale in ("global", "layer"):
        return color_scale
    if color_scale != "auto":
        raise ValueError(f"cubes: color_scale must be one of {COLOR_SCALES}, got {color_scale!r}")
    top = history.value_range()
    ranges = [s for s in layer_scales(history).values() if s > 0]
    return "layer" if ranges and top > AUTO_SPREAD * min(ranges) else "global"


def color_scales(history: History, color_scale: str) -> dict[str, float]:
    """History key → the |value| that maps to the end of the colour map, over all records: one
    scale (the largest |value|) for ``"global"``, each layer's robust scale for ``"layer"``, and
    whichever :func:`resolved_scale` picks for ``"auto"``."""
    if resolved_scale(history, color_scale) == "global":
        return dict.fromkeys(history.params, history.value_range())
    by_layer = layer_scales(history)
    return {key: by_layer[layer] for key, layer in layer_of_keys(history).items()}


def scales_for(history: History, color_scale: str, magnitude_mode: str, color_values: str = "value") -> CubeScales:
    """The run's colour and size scales and legend text for these options. ``history`` is the one the
    cubes show (:func:`shown_history` of ``color_values``): the scales are of what the colours show."""
    resolved = resolved_scale(history, color_scale)
    scales = color_scales(history, resolved)
    change = color_values == "change"
    notes: dict[str, str] = {}
    if resolved == "global":
        top = max(scales.values(), default=0.0)
        labels = (f"{-top:.3g}", "0", f"{top:+.3g}")
        caption = "change since the first record (w − w₀)" if change else "weight / bias value"
    else:
        labels = ("−scale", "0", "+scale")
        symbol = "|w − w₀|" if change else "|w|"
        caption = (f"{'w − w₀, ' if change else ''}each layer on its own scale "
                   f"({ROBUST_PERCENTILE:.0f}th pct {symbol})")
        notes = {layer: f"±{scale:.2g}" for layer, scale in layer_scales(history).items()}
    if magnitude_mode == "none":
        return CubeScales(scales, labels, caption, layer_notes=notes)
    magnitudes = magnitude.per_record(history, magnitude_mode)
    size = magnitude.run_scale(magnitudes, resolved)
    one_scale = max(size.values(), default=0.0) if resolved == "global" else None
    size_labels, size_caption = magnitude.legend_labels(magnitude_mode, one_scale)
    return CubeScales(scales, labels, caption, magnitudes, size, size_labels, size_caption, notes)


def tensor_cubes(history: History, block: Block, scales: CubeScales) -> TensorCubes:
    """The plan of ``block``'s cubes (computed per block, so a big run never holds every tensor's
    colours at once)."""
    records = history.records
    flat = flat_index(block)
    values = np.asarray(history.params[block.key], dtype=np.float64).reshape(records, -1)[:, flat]
    scale = scales.color[block.key]
    if not scales.sized:
        return TensorCubes(block, values, scale)
    magnitudes = scales.magnitudes[block.key].reshape(records, -1)[:, flat]
    return TensorCubes(block, values, scale, magnitudes, scales.size[block.key])


def plan(history: History, blocks: Sequence[Block], scales: CubeScales) -> Iterator[TensorCubes]:
    """:func:`tensor_cubes` of every block, in order."""
    for block in blocks:
        yield tensor_cubes(history, block, scales)


def flat_index(block: Block) -> np.ndarray | slice:
    """Where ``block``'s cubes are in its tensor's row-major flattening (a plain slice when the
    block draws every element in order, as the layout does, so no copy is made)."""
    if not block.shape:
        return slice(0, 1)
    flat = np.ravel_multi_index(tuple(np.asarray(block.indices).T), block.shape)
    if len(flat) == int(np.prod(block.shape)) and np.array_equal(flat, np.arange(len(flat))):
        return slice(None)
    return flat


def inverse_scale(scale: float, numerator: float = 1.0) -> float:
    """``numerator / scale``, 0 for a zero (or non-finite) scale: what a node tree multiplies a
    value by to normalise it, all values neutral and all magnitudes smallest for a zero scale, as
    ``colormap.normalize`` and ``magnitude.sizes`` do."""
    return numerator / scale if scale > 0 and np.isfinite(scale) else 0.0


@cache
def ramp_positions(stops: int = 32, samples: int = 20001) -> np.ndarray:
    """Normalised values in [-1, 1] where a piecewise-linear ramp through the map's linear colours
    is closest to :func:`colormap.colors`: the ColorBrewer control points (the map's kinks), then,
    greedily, wherever the ramp is still furthest off. 32 is Blender's Color Ramp limit; it stays
    within 2e-3 of the map (linear RGB), under half an 8-bit step."""
    x = np.linspace(-1.0, 1.0, samples)
    exact = colormap.colors(x, 1.0)[:, :3]
    positions = list(np.linspace(-1.0, 1.0, 9))
    while len(positions) < stops:
        ramp = ramp_colors(np.array(sorted(positions)), x)
        positions.append(float(x[np.argmax(np.abs(ramp - exact).max(axis=1))]))
    return np.array(sorted(positions))


def ramp_colors(positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear RGB of ``values`` (normalised, in [-1, 1]) through the ramp with stops at ``positions``."""
    stops = colormap.colors(positions, 1.0)[:, :3]
    return np.stack([np.interp(values, positions, stops[:, c]) for c in range(3)], axis=-1)

