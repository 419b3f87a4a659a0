"""A recorded model's whole picture: every parameter drawn, grouped and nested as the model's code
builds it, in the order the signal runs (pure numpy, no bpy).

The History's :class:`~..history.ModelGraph` gives the module tree in running order. Each module that
owns parameters is a group labelled by its path (``encoder.layers.0.self_attn · MultiheadAttention``);
a module that holds others is a group of their groups, its label above theirs. Groups are packed
in reading order — left to right, then the next shelf — into the proportions that fill the frame.

What each kind of parameter looks like:

- a layer the classic views know (Linear, Conv2d, a 1-D norm): as :mod:`.layout` draws it (a weight
  grid with its bias strip, conv kernel tiles, image tiles of a first layer over an image);
- ``MultiheadAttention``: the packed ``in_proj_weight`` as its Q, K and V parts side by side, each a
  column of one (head_dim × embed) tile per head, ``in_proj_bias`` split the same way beside them;
- ``RNN``/``LSTM``/``GRU``: one row per layer and direction, its input and hidden weights with a
  tile per gate (LSTM i f g o, GRU r z n), the biases split by gate beside them;
- anything else, by its shape: a scalar as one cube, a vector as a column (wrapped into several when
  long), a matrix as rows × columns (an Embedding: one row per token), more dimensions as tiles of
  the last two (a Conv1d: a tile per output channel, a row per input channel's kernel).

Residuals (``ModelGraph.skips``) are arcs under the groups, from where the signal leaves to where it
is added back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..history import LayerSpec, ModelGraph, ModuleNode
from .features import FeatureMap
from .layout import Layout, bands_for, framed, hidden_note, image_input, layer_title, text_size_for
from .layout import _layer_cells as classic_cells
from .legibility import SMALLEST_TEXT_SCALE
from .shapes import TILE_GAP, Block, Label, text_width

GROUP_GAP = 3.0  # cells between two groups: room for a neuron column (view_layout.NEURON_OFFSET)
PART_GAP = 2.0  # between the parts of one group
LABEL_LINE = 1.6  # a label's line above its group, in text heights
PART_SCALE = SMALLEST_TEXT_SCALE  # a part's caption, of the text height: the least that stays legible
COLUMN_WRAP = 32  # a vector longer than this is drawn as several columns
HIDDEN_TEXT = 1e-3  # the text height of labels laid out to take no room (layout_model's bare piece)
ARC_POINTS = 24
ARC_DEPTH = 0.6  # behind the cubes (the camera looks along +y): an arc shows in the gaps, never over a cube
# A model with attention has its maps' band under it (view_layout.band_under_picture): its groups are
# packed as for a frame this much less tall, wide and flat, so with the band the picture fills the frame
# (tests/picture/test_legibility.py: at 0.35 the reverse preset's picture took 53% of the frame).
ATTENTION_BAND_SHARE = 0.55


@dataclass
class Piece:
    """Cubes and text laid out with the top-left corner at the origin, ``width`` × ``height`` big;
    ``boxes`` is every group's (left, top, right, bottom), to hang skip arcs on."""

    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)
    labels: dict[str, Label] = field(default_factory=dict)
    part_labels: list[Label] = field(default_factory=list)
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)

    def moved(self, dx: float, dz: float) -> Piece:
        def label(lb: Label) -> Label:
            x, y, z = lb.position
            return Label(lb.text, (x + dx, y, z + dz), lb.size, lb.align)

        shift = np.array([dx, 0.0, dz])
        return Piece(self.width, self.height,
                     [Block(b.layer, b.role, b.key, b.shape, b.positions + shift, b.indices) for b in self.blocks],
                     {k: label(v) for k, v in self.labels.items()}, [label(v) for v in self.part_labels],
                     {k: (a + dx, b + dz, c + dx, d + dz) for k, (a, b, c, d) in self.boxes.items()})


Cells = tuple[np.ndarray, np.ndarray, float, float]  # positions (top-left at origin), indices, width, height


def tensor_cells(shape: tuple[int, ...]) -> Cells:
    """Any tensor by its shape (see the module docstring): a scalar, a column, a grid or tiles."""
    if len(shape) == 0:
        return np.array([[0.5, 0.0, -0.5]]), np.zeros((1, 0), dtype=np.int64), 1.0, 1.0
    if len(shape) == 1:
        count = shape[0]
        per_column = count if count <= COLUMN_WRAP else math.ceil(math.sqrt(count * 4))
        column, row = np.divmod(np.arange(count), per_column)
        positions = np.column_stack([column + 0.5, np.zeros(count), -(row + 0.5)])
        return positions, np.arange(count)[:, None], float(column.max() + 1), float(min(count, per_column))
    rows, columns = shape[-2], shape[-1]
    lead = shape[:-2]
    if not lead and bands_for(rows, columns) > 1:  # a class token (1, 768): bands, as a wide Linear's
        return _banded(rows, columns, bands_for(rows, columns))
    tile_rows = lead[0] if lead else 1
    tile_columns = int(np.prod(lead[1:], dtype=np.int64)) if len(lead) > 1 else 1
    if len(lead) == 1:  # a row of tiles, wrapped to a near-square grid
        tile_columns = max(1, min(tile_rows, math.ceil(math.sqrt(tile_rows * (rows + 1) / (columns + 1)))))
        tile_rows = math.ceil(lead[0] / tile_columns)
    index = np.indices(shape).reshape(len(shape), -1).T
    flat_lead = (np.ravel_multi_index(tuple(index[:, :-2].T), lead) if lead else np.zeros(len(index), dtype=np.int64))
    tile_row, tile_column = np.divmod(flat_lead, tile_columns)
    pitch_x, pitch_y = columns + TILE_GAP, rows + TILE_GAP
    positions = np.column_stack([tile_column * pitch_x + index[:, -1] + 0.5, np.zeros(len(index)),
                                 -(tile_row * pitch_y + index[:, -2] + 0.5)])
    return positions, index.astype(np.int64), tile_columns * pitch_x - TILE_GAP, tile_rows * pitch_y - TILE_GAP


def _banded(rows: int, columns: int, bands: int) -> Cells:
    """A rows × columns matrix cut into ``bands`` of columns stacked top to bottom, ``TILE_GAP`` apart."""
    per_band = math.ceil(columns / bands)
    index = np.indices((rows, columns)).reshape(2, -1).T
    band, column = np.divmod(index[:, 1], per_band)
    positions = np.column_stack([column + 0.5, np.zeros(len(index)),
                                 -(band * (rows + TILE_GAP) + index[:, 0] + 0.5)])
    return positions, index.astype(np.int64), float(per_band), float(bands * (rows + TILE_GAP) - TILE_GAP)


def _row_split_cells(shape: tuple[int, ...], parts: int, pieces: int, gap: float) -> tuple[Cells, list[float]]:
    """A (rows, columns) matrix or (rows,) vector cut into ``parts`` side by side (Q, K, V), each cut
    into ``pieces`` tiles stacked top to bottom (heads), ``gap`` between parts; with each part's left."""
    rows = shape[0]
    columns = shape[1] if len(shape) == 2 else 1
    per_part, per_piece = rows // parts, rows // (parts * pieces)
    index = np.indices(shape).reshape(len(shape), -1).T
    row = index[:, 0]
    part, within = np.divmod(row, per_part)
    piece, line = np.divmod(within, per_piece)
    column = index[:, 1] if len(shape) == 2 else np.zeros(len(index), dtype=np.int64)
    positions = np.column_stack([part * (columns + gap) + column + 0.5, np.zeros(len(index)),
                                 -(piece * (per_piece + TILE_GAP) + line + 0.5)])
    height = pieces * (per_piece + TILE_GAP) - TILE_GAP
    return (positions, index.astype(np.int64), parts * (columns + gap) - gap, height), [
        p * (columns + gap) for p in range(parts)]


@dataclass
class _Parts:
    """A module's own parameters being placed left to right."""

    path: str
    size: float
    x: float = 0.0  # where the next part goes in the current row of parts
    right: float = 0.0  # the widest row's end
    height: float = 0.0
    blocks: list[Block] = field(default_factory=list)
    captions: list[Label] = field(default_factory=list)

    def add(self, role: str, key: str, shape: tuple[int, ...], cells: Cells, caption: str | None = None,
            top: float = 0.0) -> None:
        """One parameter's cells at ``x``, their top ``top`` (below 0 to leave room for captions)."""
        positions, indices, width, height = cells
        offset = np.array([self.x, 0.0, top])
        self.blocks.append(Block(self.path, role, key, shape, positions + offset, indices))
        if caption:
            self.caption(caption, self.x, top)
        self.height = max(self.height, height - top)
        self.x += max(width, text_width(caption or "", PART_SCALE * self.size)) + PART_GAP
        self.right = max(self.right, self.x)

    def caption(self, text: str, x: float, top: float) -> None:
        self.captions.append(Label(text, (x, 0.0, top + 0.35 * self.size), PART_SCALE * self.size))

    @property
    def width(self) -> float:
        return max(self.right - PART_GAP, 0.0)


def _attention_parts(parts: _Parts, node: ModuleNode, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """``in_proj_weight`` and ``in_proj_bias`` as Q, K, V, a tile per head; returns the keys drawn."""
    heads = int(node.info.get("heads", 1))
    drawn = []
    top = -1.2 * parts.size  # room for the Q / K / V captions over the tiles
    for name in ("in_proj_weight", "in_proj_bias"):
        key = f"{node.path}.{name}" if node.path else name
        if key not in shapes or shapes[key][0] % (3 * heads):
            continue
        shape = shapes[key]
        cells, lefts = _row_split_cells(shape, 3, heads, gap=TILE_GAP)
        left = parts.x
        parts.add(name, key, shape, cells, top=top)
        if name == "in_proj_weight":
            for letter, x in zip("QKV", lefts, strict=True):
                parts.caption(letter, left + x, top)
        else:  # the bias columns are a cell apart: one caption over the three
            parts.caption("bias", left, top)
        drawn.append(key)
    return drawn


_RNN_KEY = re.compile(r"(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")


def _recurrent_parts(parts: _Parts, node: ModuleNode, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """One row per layer and direction: W_ih, W_hh, b_ih, b_hh, each split into its gates."""
    gates = list(node.info.get("gates", ["h"]))
    rows: dict[tuple[int, bool], list[str]] = {}
    for key in node.params:
        match = _RNN_KEY.search(key)
        if match and key in shapes and shapes[key][0] % len(gates) == 0:
            rows.setdefault((int(match.group(3)), bool(match.group(4))), []).append(key)
    drawn = []
    top = -1.2 * parts.size
    for _, keys in sorted(rows.items()):
        parts.x = 0.0
        row_height = 0.0
        for key in keys:
            name = key.rpartition(".")[2]
            shape = shapes[key]
            cells, _ = _row_split_cells(shape, 1, len(gates), gap=0)
            parts.add(name, key, shape, cells, caption=f"{name} ({' '.join(gates)})", top=top)
            row_height = max(row_height, cells[3])
            drawn.append(key)
        top -= row_height + 2.2 * parts.size
    return drawn


def _embedding_parts(parts: _Parts, node: ModuleNode, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """The table, a row per token, with a mark beside each row the probe looks up, naming the
    positions it is looked up at (``< 0, 3``)."""
    key = f"{node.path}.weight"
    vocab, dim = shapes[key]
    parts.add("weight", key, shapes[key], tensor_cells(shapes[key]))
    positions: dict[int, list[int]] = {}
    for position, token in enumerate(node.info["probe_tokens"]):
        if 0 <= token < vocab:
            positions.setdefault(token, []).append(position)
    size = PART_SCALE * parts.size
    widest = 0.0
    for token, at in positions.items():
        text = f"< {', '.join(str(p) for p in at)}"
        parts.captions.append(Label(text, (dim + 0.5, 0.0, -(token + 0.5) - 0.35 * size), size))
        widest = max(widest, text_width(text, size))
    parts.right = max(parts.right, dim + 0.5 + widest + PART_GAP)
    return [key]


def module_piece(node: ModuleNode, shapes: Mapping[str, tuple[int, ...]], spec: LayerSpec | None,
                 image: tuple[int, ...] | None, size: float) -> Piece | None:
    """The cubes of the parameters ``node`` owns (not its children's), by its kind's rule."""
    keys = [key for key in node.params if key in shapes]
    if not keys:
        return None
    parts = _Parts(node.path, size)
    drawn: list[str] = []
    if spec is not None:
        cells, width, height = classic_cells(spec, shapes, image)
        for role, key, positions, indices in cells:
            parts.blocks.append(Block(node.path, role, key, shapes[key], positions, indices))
            drawn.append(key)
        parts.x = parts.right = width + PART_GAP
        parts.height = height
    elif node.kind == "MultiheadAttention":
        drawn = _attention_parts(parts, node, shapes)
    elif "gates" in node.info:
        drawn = _recurrent_parts(parts, node, shapes)
    elif node.info.get("probe_tokens") and len(shapes.get(f"{node.path}.weight", ())) == 2:
        drawn = _embedding_parts(parts, node, shapes)
    rest = [key for key in keys if key not in drawn]
    # The generic rule; each part named over it where the group's title doesn't say what it is.
    named = bool(drawn) or len(keys) > 2 or not node.path
    top = -1.2 * size if named else 0.0
    for key in rest:
        name = key.rpartition(".")[2] if node.path else key
        parts.add(name, key, shapes[key], tensor_cells(shapes[key]), caption=name if named else None, top=top)
    return Piece(parts.width, parts.height, parts.blocks, {}, parts.captions)


def _pack(items: list[Piece], gap: float, aspect: float) -> Piece:
    """The items in reading order on shelves (top-aligned, left to right, then the next shelf), a
    shelf ending where the next item would pass a width limit: the limit that makes the whole fit a
    frame of width/height ``aspect`` largest."""
    def shelves(limit: float) -> tuple[list[tuple[float, float]], float, float]:
        corners, x, top, shelf_height, width = [], 0.0, 0.0, 0.0, 0.0
        for item in items:
            if x > 0 and x + item.width > limit + 1e-9:
                top -= shelf_height + gap
                x, shelf_height = 0.0, 0.0
            corners.append((x, top))
            x += item.width + gap
            width = max(width, x - gap)
            shelf_height = max(shelf_height, item.height)
        return corners, width, -top + shelf_height

    widths = [item.width for item in items]
    # Every run of consecutive items is a shelf some limit allows (a long list: runs of up to 16).
    limits = {sum(widths[i:j]) + gap * (j - i - 1) for i in range(len(items))
              for j in range(i + 1, min(len(items), i + 16) + 1)}

    def frame(limit: float) -> tuple[float, float]:
        _, width, height = shelves(limit)
        return max(width, height * aspect), -limit

    corners, width, height = shelves(min(limits, key=frame))
    packed = Piece(width, height)
    for item, (x, z) in zip(items, corners, strict=True):
        placed = item.moved(x, z)
        packed.blocks += placed.blocks
        packed.labels.update(placed.labels)
        packed.part_labels += placed.part_labels
        packed.boxes.update(placed.boxes)
    return packed


# Containers that only hold a list of modules: their own label would say nothing the paths don't.
_PLAIN_CONTAINERS = ("ModuleList", "ModuleDict", "Sequential", "ParameterList", "ParameterDict")


def _title(node: ModuleNode, spec: LayerSpec | None, shapes: Mapping[str, tuple[int, ...]], within: str) -> str:
    """``self_attn · MultiheadAttention · 4 heads``: the path from the group it is drawn in
    (``within``), so nested labels read as the path, and the kind."""
    name = node.path[len(within) + 1:] if within and node.path.startswith(f"{within}.") else node.path
    if spec is not None:
        title = f"{name} · " + layer_title(spec, shapes[spec.weight]).partition(" · ")[2]
    else:
        title = f"{name} · {node.kind}" if node.path else f"{node.kind} (its own parameters)"
        if node.kind == "MultiheadAttention":
            title += f" · {node.info.get('heads', 1)} heads"
    if node.calls > 1:
        title += f" · called {node.calls}×"
    return title


def _drawn(graph: ModelGraph, path: str, shapes: Mapping[str, tuple[int, ...]]) -> bool:
    """Whether ``path`` or a module inside it owns a parameter the history holds."""
    return any(key in shapes for m in graph.modules if m.path == path or m.path.startswith(f"{path}.") or not path
               for key in m.params)


def _node_piece(graph: ModelGraph, node: ModuleNode, specs: Mapping[str, LayerSpec],
                shapes: Mapping[str, tuple[int, ...]], image: tuple[int, ...] | None, size: float,
                aspect: float, notes: Mapping[str, str], within: str = "",
                pack_aspect: float | None = None) -> Piece | None:
    """A module's group: its own parameters, then its children's groups, under its label (a plain
    container, or one holding a single group, adds no label: its children's paths say it); a
    module's note (its colour scale) ends its label. Its own groups are packed for a frame of
    ``pack_aspect`` (default ``aspect``), those inside them for ``aspect``."""
    # An attention's packed projection may have a LayerSpec (a layer-table transformer's): its own
    # rule splits it into Q, K, V and heads, which the spec's single Linear grid would hide.
    spec = None if node.kind == "MultiheadAttention" else specs.get(node.path)
    own = module_piece(node, shapes, spec, image if specs and node.path == next(iter(specs)) else None, size)
    inner = [child for child in graph.children(node.path) if _drawn(graph, child.path, shapes)]
    if own is not None and not node.path:  # free parameters of the model itself: a group of their own
        title = f"{', '.join(k for k in node.params if k in shapes)} · Parameter"
        own = _labelled(own, title, "", size, True)
    labelled = node.path and (own is not None or (len(inner) > 1 and node.kind not in _PLAIN_CONTAINERS))
    children = [piece for child in inner
                if (piece := _node_piece(graph, child, specs, shapes, image, size, aspect, notes,
                                         node.path if labelled else within)) is not None]
    items = ([own] if own is not None else []) + children
    if not items:
        return None
    content = items[0] if len(items) == 1 else _pack(items, max(GROUP_GAP, size), pack_aspect or aspect)
    if not labelled:
        return content
    title = _title(node, spec, shapes, within)
    if node.path in notes:
        title += f" · {notes[node.path]}"
    return _labelled(content, title, node.path, size, own is not None)


def _labelled(content: Piece, title: str, path: str, size: float, owns: bool) -> Piece:
    """``content`` under its group's label; a group that owns cubes names its scene collection by it."""
    head = LABEL_LINE * size
    piece = content.moved(0.0, -head)
    label = Label(title, (0.0, 0.0, -head + 0.6 * size), size)
    if owns:
        piece.labels[path] = label
    else:
        piece.part_labels.append(label)
    piece.width = max(content.width, text_width(title, size))
    piece.height = content.height + head
    piece.boxes[path] = (0.0, -head, content.width, -piece.height)
    return piece


def _arc(start: tuple[float, float], end: tuple[float, float], depth: float) -> np.ndarray:
    """A curve under both ends, from ``start`` to ``end`` (x, z), sagging ``depth`` below the lower."""
    t = np.linspace(0.0, 1.0, ARC_POINTS)
    low = min(start[1], end[1]) - depth
    x = (1 - t) ** 2 * start[0] + 2 * t * (1 - t) * (start[0] + end[0]) / 2 + t ** 2 * end[0]
    z = (1 - t) ** 2 * start[1] + 2 * t * (1 - t) * (2 * low - (start[1] + end[1]) / 2) + t ** 2 * end[1]
    return np.column_stack([x, np.full_like(x, ARC_DEPTH), z])


def _box_of(path: str, boxes: Mapping[str, tuple[float, float, float, float]]) -> tuple[float, ...] | None:
    """The group ``path`` is drawn in: its own, or that of the nearest module holding it."""
    while True:
        if path in boxes:
            return boxes[path]
        if not path:
            return None
        path = path.rpartition(".")[0]


def _skip_arcs(graph: ModelGraph, boxes: Mapping[str, tuple[float, float, float, float]],
               size: float) -> list[np.ndarray]:
    arcs = []
    for skip in graph.skips:
        target = _box_of(skip.target, boxes)
        source = _box_of(skip.source, boxes) if skip.source else None
        if target is None:
            continue
        # From under the middle of the group the signal leaves to under the group it rejoins after.
        start = ((source[0] + source[2]) / 2, source[3]) if source is not None else (0.0, target[3])
        end = ((target[0] + target[2]) / 2, target[3])
        if np.allclose(start, end):
            start = (target[0], target[3])
        arcs.append(_arc(start, end, depth=0.8 * size))
    return arcs


def layout_model(graph: ModelGraph, structure: Sequence[LayerSpec], shapes: Mapping[str, tuple[int, ...]],
                 aspect: float = 16 / 9, legend_caption: str = "", size_labels: Sequence[str] = (),
                 size_caption: str = "", input_shape: Sequence[int] | None = None,
                 feature_maps: Sequence[FeatureMap] = (), feature_width: float = 0.7,
                 text_size: float | None = None, layer_notes: Mapping[str, str] | None = None,
                 labels: bool = True) -> Layout:
    """Every parameter of a recorded model, grouped as ``graph`` nests its modules, in running order
    (see the module docstring); the legends and views as :func:`.layout.layout_network` places them.
    ``text_size`` is the labels' height (by default from the cubes' extent, see
    :func:`.view_layout.layout_for_frame`, which fits it to the frame). ``layer_notes`` (module path →
    text) end those modules' labels, as :func:`.layout.layout_network`'s end its layers'. Without
    ``labels`` the groups' and parts' names are left out (a group's label is kept with no text, so the
    scene still names its collection) and take no room, and a note under the model says so: what a
    frame does whose names could never be legible (a model whose picture is mostly its names)."""
    module_notes = layer_notes or {}
    shapes = {k: tuple(int(n) for n in v) for k, v in shapes.items()}
    specs = {spec.name: spec for spec in structure}
    image = image_input(structure, input_shape)
    root = graph.module("")
    if root is None:
        raise ValueError("layout_model: the graph has no module '' (the model itself)")
    # The text size follows the cubes' extent (laid out with next to no text), so that long labels
    # of small tensors can't inflate it: the labels then take what room they need.
    # A model with attention has its maps' band under it (when its probe was recorded): its top-level
    # groups fill the frame's width over that band rather than leaving its sides empty.
    with_band = any(node.kind == "MultiheadAttention" for node in graph.modules)
    pack_aspect = aspect / (1 - ATTENTION_BAND_SHARE) if with_band else aspect
    bare = _node_piece(graph, root, specs, shapes, image, HIDDEN_TEXT, aspect, module_notes, pack_aspect=pack_aspect)
    if bare is None:
        raise ValueError("layout_model: the graph names no parameter the history holds")
    size = text_size if text_size is not None else text_size_for(bare.width, bare.height, aspect)
    if labels:
        piece = _node_piece(graph, root, specs, shapes, image, size, aspect, module_notes, pack_aspect=pack_aspect)
        piece = piece.moved(0.0, LABEL_LINE * size - size * 0.1)
        note_lines = list(graph.notes)
    else:
        piece = _unnamed(bare)
        note_lines = [hidden_note(len(bare.labels) + len(bare.part_labels), "groups and parts"), *graph.notes]
    notes = [Label(text, (0.0, 0.0, -piece.height - 0.2 * size - (i + 1) * 1.3 * size), 0.8 * size)
             for i, text in enumerate(note_lines)]
    bottom = -piece.height - (len(notes) * 1.3 + 0.5) * size if notes else -piece.height
    right = max([piece.width, *(text_width(n.text, n.size) for n in notes)])
    arcs = _skip_arcs(graph, piece.boxes, size)
    if arcs:
        bottom = min(bottom, min(float(a[:, 2].min()) for a in arcs) - 0.3 * size)
    return framed(piece.blocks, piece.labels, right, bottom, size, legend_caption, size_labels, size_caption,
                  False, feature_maps, feature_width, [*piece.part_labels, *notes], arcs, grouped=True)


def _unnamed(piece: Piece) -> Piece:
    """``piece`` (laid out with ``HIDDEN_TEXT`` high labels) without its names: each group's label
    kept with no text, the parts' captions dropped."""
    return Piece(piece.width, piece.height, piece.blocks,
                 {path: Label("", label.position, label.size) for path, label in piece.labels.items()},
                 [], piece.boxes)
