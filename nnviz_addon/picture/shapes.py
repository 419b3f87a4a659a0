"""The shapes every plan is made of, in Blender's units: a box (``Bounds``), the cubes of one tensor
(``Block``), a line of text (``Label``), the colour and size legends, and how wide text is set.

One grid cell is 1 unit; a cube fills ``CUBE_SIZE`` of it. Pure data and numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CUBE_SIZE = 0.8  # of a grid cell: the rest is the gap between neighbouring cubes
TILE_GAP = 1.0  # between two tiles, in cells: wide enough that each tile reads as its own picture
CHAR_WIDTH = 0.55  # of Blender's default font, per unit of text height (a slightly generous estimate)

Bounds = tuple[tuple[float, float, float], tuple[float, float, float]]
# A cube's front face as the instanced writer draws it: a square's corners about its centre, in
# the picture's x-z plane (the camera looks at it face on).
SQUARE = np.array([(-1, 0, -1), (1, 0, -1), (1, 0, 1), (-1, 0, 1)], dtype=np.float32) * (CUBE_SIZE / 2)


@dataclass(frozen=True)
class Block:
    """The cubes of one parameter tensor: ``positions[i]`` draws element ``indices[i]``."""

    layer: str
    role: str  # "weight" or "bias" (or the last part of the key for unlisted parameters)
    key: str  # the History key, e.g. "0.weight"
    shape: tuple[int, ...]
    positions: np.ndarray  # (N, 3) float
    indices: np.ndarray  # (N, len(shape)) int, row-major order of the tensor

    def cube_name(self, i: int) -> str:
        return cube_name(self.layer, self.role, tuple(int(k) for k in self.indices[i]))


@dataclass(frozen=True)
class Label:
    text: str
    position: tuple[float, float, float]  # left end of the baseline
    size: float  # text height
    align: str = "LEFT"  # "LEFT", "CENTER" or "RIGHT", as Blender's TextCurve.align_x


@dataclass(frozen=True)
class Legend:
    """A horizontal colour bar: ``segment_values`` run from -1 to +1 (times the colour scale)."""

    segment_positions: np.ndarray  # (S, 3)
    segment_values: np.ndarray  # (S,) in [-1, 1]
    segment_size: tuple[float, float, float]  # full extent of one segment
    value_label_anchors: tuple[tuple[float, float, float], ...]  # under min, 0, max
    caption_anchor: tuple[float, float, float]
    text_size: float


@dataclass(frozen=True)
class SizeLegend:
    """A row of full-size cells, one per label; the scene sizes each cube for the value its label
    names, at the same scale as the network's cubes so the two compare directly."""

    positions: np.ndarray  # (S, 3) cube centres
    labels: tuple[Label, ...]  # centred under each cube
    caption: Label


def cube_name(layer: str, role: str, index: tuple[int, ...]) -> str:
    """``layer 0 · weight[2,1]``: the object name a user searches for."""
    return f"layer {layer} · {role}[{','.join(str(i) for i in index)}]"


# A label's line is cut to this many characters (its end replaced by "..."): a run or layer named
# with 5,000 characters would otherwise widen the picture until the camera sees nothing else.
MAX_LABEL_CHARS = 100


def shortened(text: str) -> str:
    """``text`` with each line cut to :data:`MAX_LABEL_CHARS`, as labels are drawn."""
    return "\n".join(line if len(line) <= MAX_LABEL_CHARS else line[:MAX_LABEL_CHARS - 3] + "..."
                     for line in text.split("\n"))


def text_width(text: str, size: float) -> float:
    """A safe (slightly generous) width of ``text`` set ``size`` high in Blender's default font,
    as drawn (:func:`shortened`)."""
    return len(shortened(text)) * CHAR_WIDTH * size


def square_corners(centres: np.ndarray, sizes: np.ndarray | None = None) -> np.ndarray:
    """(N, 4, 3) corners of a square about each of ``centres`` (N, 3), ``sizes`` (N,) of full size
    (all full size when None), in the wider of the two inputs' float types."""
    centres = np.asarray(centres).reshape(-1, 3)
    if sizes is None:
        return centres[:, None] + SQUARE[None]
    return centres[:, None] + SQUARE[None] * np.asarray(sizes)[:, None, None]


def square_centres(corners: np.ndarray) -> np.ndarray:
    """(N, 3) centres of squares given as (N·4, 3) or (N, 4, 3) corners: their mean."""
    return np.asarray(corners).reshape(-1, 4, 3).mean(axis=1)


def lines_width(text: str, size: float) -> float:
    """The width of ``text``'s longest line (:func:`text_width` measures the whole text as one)."""
    return max(text_width(line, size) for line in text.split("\n"))
