"""The cube plan: for every parameter tensor, its cubes' positions, indices and per-record values,
colours and sizes, and the scales and legend text they are drawn with (pure numpy, no bpy).

Both scene writers take this plan: ``scene.objects`` keys one object per cube with the colours and
sizes computed here; ``scene.instanced`` stores the per-record values and magnitudes and lets a
Geometry Nodes tree apply the same colour map and size rule (:data:`RAMP_POSITIONS` is the map as
the tree's Color Ramp holds it, :func:`ramp_positions`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np

from ..history import History
from . import colormap, magnitude
from .shapes import Block


@dataclass(frozen=True)
class CubeScales:
    """How a run's cubes are scaled, decided once for the whole run before the layout exists (the
    layout needs the legends' text). ``color``: History key → |value| at the end of the colour map;
    ``magnitudes``: key → (records, *shape) |gradient| or |update|, empty with ``magnitude="none"``;
    ``size``: key → the magnitude drawn full size."""

    color: dict[str, float]
    legend_labels: tuple[str, str, str]
    caption: str
    magnitudes: dict[str, np.ndarray] = field(default_factory=dict)
    size: dict[str, float] = field(default_factory=dict)
    size_labels: list[str] = field(default_factory=list)
    size_caption: str = ""

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


def color_scales(history: History, color_scale: str) -> dict[str, float]:
    """History key → the |value| that maps to the end of the colour map, over all records."""
    if color_scale == "global":
        return dict.fromkeys(history.params, history.value_range())
    return {key: history.value_range([key]) for key in history.params}


def scales_for(history: History, color_scale: str, magnitude_mode: str) -> CubeScales:
    """The run's colour and size scales and legend text for these options."""
    scales = color_scales(history, color_scale)
    if color_scale == "global":
        top = max(scales.values(), default=0.0)
        labels, caption = (f"{-top:.3g}", "0", f"{top:+.3g}"), "weight / bias value"
    else:
        labels, caption = ("−max", "0", "+max"), "value ÷ its tensor's max |value|"
    if magnitude_mode == "none":
        return CubeScales(scales, labels, caption)
    magnitudes = magnitude.per_record(history, magnitude_mode)
    size = magnitude.run_scale(magnitudes, color_scale)
    one_scale = max(size.values(), default=0.0) if color_scale == "global" else None
    size_labels, size_caption = magnitude.legend_labels(magnitude_mode, one_scale)
    return CubeScales(scales, labels, caption, magnitudes, size, size_labels, size_caption)


def tensor_cubes(history: History, block: Block, scales: CubeScales) -> TensorCubes:
    """The plan of ``block``'s cubes (computed per block, so a big run never holds every tensor's
    colours at once)."""
    records = history.records
    flat = _flat_index(block)
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


def _flat_index(block: Block) -> np.ndarray | slice:
    """Where ``block``'s cubes are in its tensor's row-major flattening (a plain slice when the
    block draws every element in order, as the layout does, so no copy is made)."""
    if not block.shape:
        return slice(0, 1)
    flat = np.ravel_multi_index(tuple(np.asarray(block.indices).T), block.shape)
    if len(flat) == int(np.prod(block.shape)) and np.array_equal(flat, np.arange(len(flat))):
        return slice(None)
    return flat


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

