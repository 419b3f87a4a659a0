"""Attention maps: what every head of every attention layer looks at for the probe sequence, as an
L × L tile per head keyed per record, in a band under the rest of the picture, the sequence task
view (the probe in and out) at the band's left (pure numpy, no bpy; ``scene.attention`` writes it).

The probes record ``attention/<module path>`` (R, heads, L, L) per record (:mod:`..training.probes`,
and the Recorder for a torch model's ``nn.MultiheadAttention``): row i of a head's tile is query
position i, column j key position j, and its cells (one row sums to 1) go from dark (0) to bright
(1), so a head's pattern forms in the picture as it learns — reversing digits grows an
anti-diagonal. One row of tiles per attention layer, heads left to right, under a title naming the
layer; the probe's tokens (``sequence/input``, read as ``sequence/tokens`` says) label the first
tile's rows and every tile's columns, or the positions' numbers when the History has no tokens.
Everything comes from the History alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..history import History
from ..history.keys import ATTENTION_PREFIX, SEQUENCE_INPUT, SEQUENCE_PROBABILITIES, SEQUENCE_TOKENS
from .colormap import linear_rgba
from .shapes import Bounds, Label, text_width
from .task_views import Patches, Text, sequence_text_width
from .view_layout import Rect, band_under_picture

# A cell's colour from its weight: a near-black for 0 up to a warm yellow-white for 1 (sRGB).
LOW_SRGB = np.array([0.05, 0.05, 0.07])
HIGH_SRGB = np.array([1.0, 0.86, 0.35])
TILE_GAP = 0.6  # between two heads' tiles, in cells
SEQUENCE_MAX_SHARE = 0.3  # of the band's width: the most the probe sequence's view takes of it
TITLE = "attention per head · row: query position, column: the position it reads"


@dataclass(frozen=True)
class AttentionPlan:
    frames: np.ndarray
    items: list[Text | Patches]
    bounds: Bounds


def attention_keys(history: History) -> list[str]:
    """The History keys of every attention layer's recorded weights, in recorded order."""
    return [key for key, values in history.series.items() if key.startswith(ATTENTION_PREFIX)
            and np.ndim(values) == 4 and np.shape(values)[-1] == np.shape(values)[-2]]


def band_under(history: History, picture: Bounds, aspect: float, text_size: float) -> Rect | None:
    """Where the maps go: a band under everything else (``picture``), as wide as it, as tall as the
    frame of width/height ``aspect`` has to spare under a wide row of layers
    (:func:`.view_layout.band_under_picture`); None when the History has no attention."""
    return band_under_picture(picture, aspect, text_size) if attention_keys(history) else None


def share_band(band: Rect | None, history: History) -> tuple[Rect | None, Rect | None]:
    """(the sequence task view's part of the maps' band, the maps' part): the probe sequence in and
    out on the left, as wide as its grid of positions × tokens wants at the band's height, and its
    title and caption (at most ``SEQUENCE_MAX_SHARE`` of it), when the History has that view; else
    (None, ``band``)."""
    probabilities = history.series.get(SEQUENCE_PROBABILITIES)
    if band is None or probabilities is None or np.ndim(probabilities) != 3:
        return None, band
    length, vocab = np.shape(probabilities)[1:]
    wanted = max(band.height * (length + 2) / (vocab + 5), sequence_text_width(band.text_size))
    width = min(wanted, SEQUENCE_MAX_SHARE * band.width)
    gap = 2 * band.text_size
    sequence = Rect(band.left, band.bottom, width, band.height, band.text_size)
    return sequence, Rect(band.left + width + gap, band.bottom, band.width - width - gap, band.height, band.text_size)


def token_labels(history: History, length: int) -> list[str]:
    """What each of the probe's ``length`` positions reads as: its token, else its index."""
    ids = history.static.get(SEQUENCE_INPUT)
    names = history.static.get(SEQUENCE_TOKENS)
    if ids is None or np.shape(ids) != (length,):
        return [str(i) for i in range(length)]
    ids = np.asarray(ids, dtype=np.int64)
    if names is None or ids.max(initial=0) >= len(names):
        return [str(i) for i in ids.tolist()]
    return [str(names[i]) for i in ids.tolist()]


def cell_name(key: str, head: int, query: int, position: int) -> str:
    """The object name of the cell of ``key``'s (``attention/<path>``) head ``head`` where query
    ``query`` reads ``position``."""
    return f"attention · {key.removeprefix(ATTENTION_PREFIX)} · head {head}[{query},{position}]"


def cell_colors(weights: np.ndarray) -> np.ndarray:
    """Linear RGBA of attention weights (..., ) in [0, 1]: dark to bright."""
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0.0, 1.0)[..., None]
    return linear_rgba((1 - w) * LOW_SRGB + w * HIGH_SRGB)


def plan(history: History, record_frames: np.ndarray, rect: Rect) -> AttentionPlan | None:
    """Every attention layer's heads as tiles inside ``rect`` (left-aligned), keyed at
    ``record_frames``; None when the History has no attention recorded."""
    keys = attention_keys(history)
    if not keys:
        return None
    size = rect.text_size
    shapes = [np.shape(history.series[key])[1:] for key in keys]
    columns = max(heads * (length + TILE_GAP) for heads, length, _ in shapes)
    # Per layer: a title line, a line of key labels; the rows' labels take a column on the left.
    label_cells = 1.5
    # Per layer, under its title (1.6 + 0.4 text sizes): the key labels, the tile, the heads' names.
    rows_cells = sum(label_cells + length + 0.7 for _, length, _ in shapes)
    lines = 1.3 + 2.0 * len(keys)  # the caption and the layers' titles, in text sizes
    cell = min(rect.width / (columns + label_cells), (rect.height - lines * size) / rows_cells)
    if cell <= 0:
        return None
    label_size = min(0.45 * cell, 1.5 * size)  # tokens as large as their cells allow, never shouting
    items: list[Text | Patches] = []
    low, high = np.array([rect.left, rect.top]), np.array([rect.left, rect.top])

    def text(content: str, x: float, z: float, text_size: float, align: str = "LEFT") -> None:
        nonlocal low, high
        items.append(Text(Label(content, (x, 0.0, z), text_size, align), f"attention · {content} · {len(items)}"))
        width = text_width(content, text_size)
        left = {"LEFT": x, "CENTER": x - width / 2, "RIGHT": x - width}[align]
        low = np.minimum(low, (left, z - 0.25 * text_size))
        high = np.maximum(high, (left + width, z + text_size))

    top = rect.top - size
    text(TITLE, rect.left, top, size)
    frames = np.asarray(record_frames, dtype=np.float64)
    for key, (heads, length, _) in zip(keys, shapes, strict=True):
        weights = np.asarray(history.series[key], dtype=np.float64)
        tokens = token_labels(history, length)
        top -= 1.6 * size
        text(f"{key.removeprefix(ATTENTION_PREFIX)} · {heads} head{'s' * (heads != 1)}", rect.left, top, size)
        grid_top = top - 0.4 * size - label_cells * cell
        grid_left = rect.left + label_cells * cell
        q, k = np.divmod(np.arange(length * length), length)
        for head in range(heads):
            left = grid_left + head * (length + TILE_GAP) * cell
            centres = np.column_stack([left + (k + 0.5) * cell, np.zeros(len(q)), grid_top - (q + 0.5) * cell])
            colours = cell_colors(weights[:, head].reshape(len(weights), -1))
            names = [cell_name(key, head, i, j) for i, j in zip(q.tolist(), k.tolist(), strict=True)]
            items.append(Patches(names, "square", centres, (0.94 * cell, 1.0, 0.94 * cell), colours[0],
                                 colours if len(colours) > 1 else None))
            for j, token in enumerate(tokens):  # the keys' tokens over the columns
                text(token, left + (j + 0.5) * cell, grid_top + 0.3 * cell, label_size, "CENTER")
            text(f"head {head}", left, grid_top - length * cell - 1.1 * label_size, label_size)
        for i, token in enumerate(tokens):  # the queries' tokens left of the first tile's rows
            text(token, grid_left - 0.3 * cell, grid_top - (i + 0.75) * cell, label_size, "RIGHT")
        low = np.minimum(low, (grid_left, grid_top - length * cell - 1.5 * label_size))
        high = np.maximum(high, (grid_left + heads * (length + TILE_GAP) * cell, grid_top))
        top = grid_top - length * cell - 1.5 * label_size
    bounds = ((float(low[0]), -0.5, float(low[1])), (float(high[0]), 0.5, float(high[1])))
    return AttentionPlan(frames, items, bounds)
