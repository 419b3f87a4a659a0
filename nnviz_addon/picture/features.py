"""Feature maps: the probe image and what each image layer makes of it, as cubes (pure numpy, no bpy).

The probes record ``probe/image`` (static, (C, H, W)) and, per record, ``feature/<layer>`` (R, C, H,
W) after every Conv2d, BatchNorm2d and pool (:mod:`nnviz_addon.training.probes`). Each channel is drawn as an
H×W image of cubes, the channels of one layer in a grid (in channel order, row by row), one group
per layer, left to right in the order the signal takes: the probe image, then each layer in
running order. The groups share one band under the network's layers, each with its label above it
(``after Conv2d 0`` over ``8×8×8``; ``after MaxPool2d 2``); :func:`place` picks the fewest channel
rows that keep the band within the width it is given, so it costs as little height as it can.

Colours: the weights' diverging map, each group on its own scale (the largest |value| of that
group over the whole run), as :mod:`..scene.neurons` scales each neuron column: after a ReLU the
maps are ≥ 0, so they run from white (0) to red (the group's peak), and a map lights up as the
kernels learn to pick its pattern out. The probe image is static (one record).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..history import History
from ..history.keys import FEATURE_KINDS, FEATURE_PREFIX, PROBE_IMAGE
from ..preset.layer_stack import shape_text
from . import colormap
from .legibility import SMALLEST_TEXT_SCALE
from .shapes import TILE_GAP, Block, Label, text_width

CAPTION = "maps: each layer's output for the probe image, white 0 to red at its largest over the run"
GROUP_GAP = 3.0  # cells between two groups: wider than the gap between two maps of one group
LABEL_SCALE = SMALLEST_TEXT_SCALE  # of the layout's text size: two lines per group, legible (legibility.py)
LINE_HEIGHT = 1.2  # Blender's distance between two lines of text, per unit of text height


@dataclass(frozen=True)
class FeatureMap:
    """One group of maps: ``key`` is where its values are (``probe/image`` in History.static, else
    ``feature/<layer>`` in History.series), ``shape`` (C, H, W)."""

    key: str
    layer: str
    title: str
    shape: tuple[int, int, int]


def _kinds(history: History) -> dict[str, str]:
    """Layer name → module class, from the structure and, for layers without parameters (the
    pools), the optional ``feature_kinds`` static array (older files lack it)."""
    kinds = {spec.name: spec.kind for spec in history.structure}
    table = history.static.get(FEATURE_KINDS)
    if table is not None:
        for name, kind in np.asarray(table).reshape(-1, 2).tolist():
            kinds.setdefault(str(name), str(kind))
    return kinds


def title_width(title: str, size: float) -> float:
    """The width of a (multi-line) group title."""
    return max(text_width(line, size) for line in title.split("\n"))


def feature_maps(history: History) -> list[FeatureMap]:
    """The groups ``history`` has data for, input first, then the layers in recorded (running) order."""
    maps = []
    image = history.static.get(PROBE_IMAGE)
    if image is not None and np.ndim(image) == 3:
        shape = tuple(int(n) for n in np.shape(image))
        maps.append(FeatureMap(PROBE_IMAGE, "input", f"probe image\n{shape_text(shape)}", shape))
    kinds = _kinds(history)
    for key, values in history.series.items():
        if not key.startswith(FEATURE_PREFIX) or np.ndim(values) != 4:
            continue
        layer = key.removeprefix(FEATURE_PREFIX)
        shape = tuple(int(n) for n in np.shape(values)[1:])
        kind = kinds.get(layer)
        module, _, call = layer.partition("#")  # a module's later calls are recorded as "<name>#2", ...
        title = f"after {kind or 'layer'} {module}{f' (call {call})' if call else ''}\n{shape_text(shape)}"
        maps.append(FeatureMap(key, layer, title, shape))
    return maps


def cell_count(maps: Sequence[FeatureMap]) -> int:
    """How many cubes the groups draw."""
    return sum(math.prod(m.shape) for m in maps)


def _columns(shape: tuple[int, int, int], height: float) -> int:
    """Channel columns of a group whose grid is at most ``height`` tall (at least one row)."""
    channels, rows_of_cells, _ = shape
    rows = max(1, min(channels, int((height + TILE_GAP) // (rows_of_cells + TILE_GAP))))
    return math.ceil(channels / rows)


def _extent(shape: tuple[int, int, int], columns: int) -> tuple[float, float]:
    channels, h, w = shape
    return columns * (w + TILE_GAP) - TILE_GAP, math.ceil(channels / columns) * (h + TILE_GAP) - TILE_GAP


def _band_columns(maps: Sequence[FeatureMap], max_width: float, size: float) -> list[int]:
    """Each group's channel columns for the lowest band whose groups (and labels) fit ``max_width``;
    the narrowest arrangement (near-square grids) when none does."""
    candidates = sorted({float(k * (m.shape[1] + TILE_GAP) - TILE_GAP) for m in maps
                         for k in range(1, m.shape[0] + 1)})
    for height in candidates:
        columns = [_columns(m.shape, height) for m in maps]
        width = sum(max(_extent(m.shape, c)[0], title_width(m.title, LABEL_SCALE * size))
                    for m, c in zip(maps, columns, strict=True)) + GROUP_GAP * (len(maps) - 1)
        if width <= max_width:
            return columns
    return [max(1, math.ceil(math.sqrt(m.shape[0]))) for m in maps]


@dataclass(frozen=True)
class FeatureBand:
    blocks: list[Block]  # one per group, ``Block.key`` the group's History key, role "feature"
    labels: list[Label]  # one per group, then the caption under the band saying what the colours show
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]]  # labels included


def place(maps: Sequence[FeatureMap], left: float, top: float, max_width: float, size: float) -> FeatureBand:
    """The groups left to right from ``(left, top)`` (the labels' tops), at most ``max_width`` wide
    when that fits, each map's cells one grid cell apart and the maps of a group ``TILE_GAP`` apart."""
    if not maps:
        raise ValueError("features.place: no feature maps to place")
    label_size = LABEL_SCALE * size
    grid_top = top - (1.0 + LINE_HEIGHT + 0.5) * label_size
    blocks, labels, x, bottom = [], [], left, grid_top
    for fmap, columns in zip(maps, _band_columns(maps, max_width, size), strict=True):
        _, h, w = fmap.shape
        c, y, xx = np.indices(fmap.shape).reshape(3, -1)
        row, column = np.divmod(c, columns)
        positions = np.zeros((len(c), 3))
        positions[:, 0] = x + column * (w + TILE_GAP) + xx + 0.5
        positions[:, 2] = grid_top - row * (h + TILE_GAP) - y - 0.5
        blocks.append(Block(fmap.layer, "feature", fmap.key, fmap.shape, positions, np.stack([c, y, xx], axis=1)))
        # The first line's baseline; the second comes LINE_HEIGHT under it, half a line above the maps.
        labels.append(Label(fmap.title, (x, 0.0, grid_top + (0.5 + LINE_HEIGHT) * label_size), label_size))
        width, height = _extent(fmap.shape, columns)
        x += max(width, title_width(fmap.title, label_size)) + GROUP_GAP
        bottom = min(bottom, grid_top - height)
    caption = Label(CAPTION, (left, 0.0, bottom - 1.3 * label_size), label_size)
    labels.append(caption)
    right = max(x - GROUP_GAP, left + text_width(CAPTION, label_size))
    return FeatureBand(blocks, labels, ((left, -0.5, caption.position[2] - 0.3 * label_size), (right, 0.5, top)))


def values_of(history: History, block: Block) -> np.ndarray:
    """(records, cells) of a group's block: the probe image (one record), or the recorded maps."""
    if block.key == PROBE_IMAGE:
        return np.asarray(history.static[PROBE_IMAGE], dtype=np.float64).reshape(1, -1)
    return np.asarray(history.series[block.key], dtype=np.float64).reshape(history.records, -1)


def color_scale(values: np.ndarray) -> float:
    """The group's largest finite |value| over the run: the end of the colour map."""
    return colormap.finite_peak(values)
