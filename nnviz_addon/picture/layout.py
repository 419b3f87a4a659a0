"""Where everything goes: cube positions, labels, legend and the framing, as pure numpy.

The picture lies in Blender's front (XZ) plane: x runs from the input layer to the output layer, z is
up, every cube sits at y = 0 and the camera looks along +y. One grid cell is 1 unit; a cube fills
``CUBE_SIZE`` of it, leaving a gap. Layers are top-aligned in a row with their label above:

    layer 0 · Linear 3→4     layer 2 · Linear 4→1
    ■ ■ ■  ■                 ■ ■ ■ ■  ■
    ■ ■ ■  ■
    ...                                          ← weight grid (out × in) and its bias strip

    [legend bar]  -max  0  +max
    ▪ ■ ■  size legend, when cube sizes show gradients or updates

Some layers are drawn as tiles instead of one matrix, so that a viewer sees pictures rather than a
band of cubes:

- a first ``Linear`` layer whose inputs form an image (``input_shape`` (H, W) or (C, H, W), e.g. the
  digits' 8×8): each output unit's incoming weights as an H×W image of cubes (C of them side by
  side), the unit's bias cube beside its tile's top-right corner, the tiles in a near-square grid
  in unit order (row-major) — the classic "what each neuron looks for" picture;
- a ``Conv2d`` layer's weight (out, in, kh, kw): one kh×kw tile per (output, input) channel pair,
  output channels as rows, input channels as columns, the bias beside each row.

With ``stacked`` the same layer blocks go top to bottom instead, left-aligned, each with its label
above it, so in a portrait frame the network can span the frame's width rather than a thin strip
across its middle (``Layout.stacked`` tells the views to follow suit; which arrangement a frame gets
is :func:`.view_layout.layout_for_frame`'s choice).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..history import LayerSpec
from . import features
from .features import FeatureMap
from .shapes import CUBE_SIZE, TILE_GAP, Block, Bounds, Label, Legend, SizeLegend, lines_width, text_width

STRIP_GAP = 1.0  # between a weight grid and its bias strip, in cells
BIAS_GAP = 0.5  # between a tile (or a row of conv tiles) and its bias: closer than the next tile
# A weight matrix over WRAP_COLUMNS wide and more than WRAP_RATIO times as wide as tall (MNIST's 10×128
# output layer) is wrapped into bands: such a strip sets the frame's width and leaves every cube a pixel
# wide. Smaller strips (spiral's 1×16) stay one row, level with their neurons.
WRAP_COLUMNS = 100
WRAP_RATIO = 4
LEGEND_SEGMENTS = 64
OVERLAY_LINES = 3  # title, step counter, loss: the block reserved above the network for overlay.py
LINE_SPACING = 1.5
# Layers whose weight is a table of vectors, one row per token (or position), drawn rows × features.
TABLE_KINDS = ("Embedding", "PositionalEmbedding")

@dataclass(frozen=True)
class Layout:
    blocks: list[Block]
    layer_labels: dict[str, Label]  # layer name → label
    legend: Legend
    overlay_anchor: tuple[float, float, float]  # top-left of the space kept free for the overlay text
    text_size: float
    bounds: Bounds  # (min xyz, max xyz) of everything above, text included
    size_legend: SizeLegend | None = None
    legend_bounds: Bounds | None = None  # the colour and size legends with their labels and captions
    stacked: bool = False  # layers run top to bottom (a portrait frame) rather than left to right
    # The probe image and feature maps (picture/features.py): one block per group, in a band under
    # the layers, with a label each and then a caption; ``features_bounds`` is the band's box, text included.
    feature_blocks: list[Block] = field(default_factory=list)
    feature_labels: list[Label] = field(default_factory=list)
    features_bounds: Bounds | None = None
    # A recorded model's picture (picture/model_layout.py): the labels of groups that hold others and
    # of a module's parts (Q, K, V; gates), notes for the frame, and each skip's arc as a polyline.
    part_labels: list[Label] = field(default_factory=list)
    skips: list[np.ndarray] = field(default_factory=list)
    grouped: bool = False  # groups packed on shelves: each neuron column stands right of its own group

    @property
    def cube_count(self) -> int:
        return sum(len(b.positions) for b in self.blocks)


def layer_title(spec: LayerSpec, weight_shape: tuple[int, ...] = ()) -> str:
    """``layer 0 · Linear 3→4``, ``layer 0 · Conv2d 1→8 3×3`` (the kernel from ``weight_shape``)."""
    if spec.kind == "Linear":
        return f"layer {spec.name} · Linear {spec.in_features}→{spec.out_features}"
    if spec.kind == "Conv2d":
        kernel = "×".join(str(n) for n in weight_shape[2:])
        return f"layer {spec.name} · Conv2d {spec.in_features}→{spec.out_features} {kernel}"
    if spec.kind in TABLE_KINDS:
        rows = "tokens" if spec.kind == "Embedding" else "positions"
        return f"layer {spec.name} · {spec.kind} {spec.in_features} {rows}×{spec.out_features}"
    return f"layer {spec.name} · {spec.kind} {spec.out_features}"


def _grid(shape: tuple[int, ...], left: float, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Cells of a tensor drawn as a matrix: 2-D as rows × columns, 1-D as one column, higher
    dimensions flattened after the first. Returns (positions, indices) in row-major order."""
    indices = np.indices(shape).reshape(len(shape), -1).T if shape else np.zeros((1, 0), dtype=int)
    flat = np.arange(int(np.prod(shape, dtype=np.int64)))
    columns = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) >= 2 else 1
    rows, cols = np.divmod(flat, columns)
    positions = np.zeros((len(flat), 3))
    positions[:, 0] = left + cols + 0.5
    positions[:, 2] = top - rows - 0.5
    return positions, indices.astype(np.int64)


def _grid_extent(shape: tuple[int, ...]) -> tuple[int, int]:
    """(columns, rows) a tensor occupies in :func:`_grid`."""
    if len(shape) >= 2:
        return int(np.prod(shape[1:], dtype=np.int64)), int(shape[0])
    return 1, int(shape[0]) if shape else 1


def _check_shapes(spec: LayerSpec, shapes: Mapping[str, tuple[int, ...]]) -> None:
    for key in (spec.weight, spec.bias):
        if key is not None and key not in shapes:
            raise ValueError(f"layout: layer {spec.name!r} names parameter {key!r}, which the history lacks "
                             f"(it has {sorted(shapes)})")
    if spec.kind == "Linear":
        expected = {spec.weight: (spec.out_features, spec.in_features)}
    elif spec.kind in TABLE_KINDS:
        expected = {spec.weight: (spec.in_features, spec.out_features)}
    elif spec.kind == "Conv2d":
        kernel = tuple(shapes[spec.weight][2:])
        if len(kernel) != 2:
            raise ValueError(f"layout: {spec.weight!r} of Conv2d layer {spec.name!r} has shape "
                             f"{tuple(shapes[spec.weight])}, expected (out, in, kh, kw)")
        expected = {spec.weight: (spec.out_features, spec.in_features, *kernel)}
    else:
        expected = {spec.weight: (spec.out_features,)}
    if spec.bias is not None:
        expected[spec.bias] = (spec.out_features,)
    for key, shape in expected.items():
        if tuple(shapes[key]) != shape:
            raise ValueError(f"layout: {key!r} of {spec.kind} layer {spec.name!r} has shape "
                             f"{tuple(shapes[key])}, expected {shape}")


def _layer_parts(spec: LayerSpec) -> list[tuple[str, str]]:
    """(role, key) of a layer's tensors, left to right."""
    parts = [("weight", spec.weight)]
    if spec.bias is not None:
        parts.append(("bias", spec.bias))
    return parts


Cells = list[tuple[str, str, np.ndarray, np.ndarray]]  # (role, key, positions, indices) of a layer's tensors


def bands_for(rows: int, columns: int) -> int:
    """How many bands a rows × columns weight matrix is wrapped into: 1 (as it is) unless it is more
    than ``WRAP_RATIO`` times as wide as tall and over ``WRAP_COLUMNS`` wide, else as many as make it
    about square."""
    if columns <= max(WRAP_RATIO * rows, WRAP_COLUMNS):
        return 1
    return max(2, round(math.sqrt(columns / (rows + TILE_GAP))))


def _matrix_cells(spec: LayerSpec, shapes: Mapping[str, tuple[int, ...]]) -> tuple[Cells, float, float]:
    """A layer's tensors as matrices side by side (weight grid, then the bias strip), top-left at
    the origin; with the (width, height) they take. A weight matrix much wider than tall is wrapped
    into bands stacked top to bottom, ``TILE_GAP`` apart (columns 0..k-1 in the first band, the next
    k in the second, ...), the bias strip level with the first band's rows."""
    cells, x, height = [], 0.0, 0.0
    for role, key in _layer_parts(spec):
        positions, indices = _grid(shapes[key], x, 0.0)
        columns, rows = _grid_extent(shapes[key])
        bands = bands_for(rows, columns) if role == "weight" and len(shapes[key]) == 2 else 1
        if bands > 1:
            per_band = math.ceil(columns / bands)
            band, column = np.divmod(indices[:, 1], per_band)
            positions[:, 0] = x + column + 0.5
            positions[:, 2] -= band * (rows + TILE_GAP)
            columns, rows = per_band, bands * (rows + TILE_GAP) - TILE_GAP
        cells.append((role, key, positions, indices))
        x += columns + STRIP_GAP
        height = max(height, rows)
    return cells, x - STRIP_GAP, float(height)


def tile_grid(count: int, tile_width: float, tile_height: float) -> tuple[int, int]:
    """(columns, rows) of a near-square grid of ``count`` tiles, each taking ``tile_width`` ×
    ``tile_height`` with its gaps: as many columns as make the whole grid about as wide as tall."""
    columns = max(1, min(count, math.ceil(math.sqrt(count * tile_height / tile_width))))
    return columns, math.ceil(count / columns)


def _image_offsets(image: tuple[int, ...]) -> np.ndarray:
    """(size, 2) x and depth (down from the top) of each value of one flattened input image, as
    torch's ``flatten`` orders it: (H, W) row by row, (C, H, W) channel images side by side."""
    channels, height, width = image if len(image) == 3 else (1, *image)
    c, y, x = np.indices((channels, height, width)).reshape(3, -1)
    return np.stack([c * (width + TILE_GAP) + x + 0.5, y + 0.5], axis=1)


def _image_tile_cells(spec: LayerSpec, image: tuple[int, ...]) -> tuple[Cells, float, float]:
    """A Linear layer whose inputs are ``image``: each unit's weights as a tile of that image's shape,
    its bias beside the tile's top-right corner, the tiles in a near-square grid in unit order."""
    offsets = _image_offsets(image)
    tile_width = float(offsets[:, 0].max() + 0.5)
    tile_height = float(offsets[:, 1].max() + 0.5)
    pitch_x, pitch_y = tile_width + BIAS_GAP + 1 + TILE_GAP, tile_height + TILE_GAP
    units, inputs = spec.out_features, spec.in_features
    columns, rows = tile_grid(units, pitch_x, pitch_y)
    tile_row, tile_column = np.divmod(np.arange(units), columns)
    left, top = tile_column * pitch_x, -tile_row * pitch_y
    weight = np.zeros((units * inputs, 3))
    weight[:, 0] = (left[:, None] + offsets[None, :, 0]).reshape(-1)
    weight[:, 2] = (top[:, None] - offsets[None, :, 1]).reshape(-1)
    cells = [("weight", spec.weight, weight, np.indices((units, inputs)).reshape(2, -1).T)]
    if spec.bias is not None:
        bias = np.zeros((units, 3))
        bias[:, 0] = left + tile_width + BIAS_GAP + 0.5
        bias[:, 2] = top - 0.5
        cells.append(("bias", spec.bias, bias, np.arange(units)[:, None]))
    return cells, columns * pitch_x - TILE_GAP, rows * pitch_y - TILE_GAP


def _conv_tile_cells(spec: LayerSpec, kernel: tuple[int, int]) -> tuple[Cells, float, float]:
    """A Conv2d weight (out, in, kh, kw): one kh×kw tile per channel pair, output channels as rows,
    input channels as columns, each row's bias beside its last tile."""
    kh, kw = kernel
    shape = (spec.out_features, spec.in_features, kh, kw)
    o, i, y, x = np.indices(shape).reshape(4, -1)
    weight = np.zeros((len(o), 3))
    weight[:, 0] = i * (kw + TILE_GAP) + x + 0.5
    weight[:, 2] = -(o * (kh + TILE_GAP) + y + 0.5)
    cells = [("weight", spec.weight, weight, np.stack([o, i, y, x], axis=1))]
    tiles_width = spec.in_features * (kw + TILE_GAP) - TILE_GAP
    width = tiles_width
    if spec.bias is not None:
        bias = np.zeros((spec.out_features, 3))
        bias[:, 0] = tiles_width + BIAS_GAP + 0.5
        bias[:, 2] = -(np.arange(spec.out_features) * (kh + TILE_GAP) + 0.5)
        cells.append(("bias", spec.bias, bias, np.arange(spec.out_features)[:, None]))
        width += BIAS_GAP + 1
    return cells, width, spec.out_features * (kh + TILE_GAP) - TILE_GAP


def image_input(structure: Sequence[LayerSpec], input_shape: Sequence[int] | None) -> tuple[int, ...] | None:
    """The image the first layer's weights are drawn as tiles of: ``input_shape`` when it is (H, W)
    or (C, H, W) and the first layer is a Linear taking that many inputs, else None."""
    if input_shape is None or not structure:
        return None
    image = tuple(int(n) for n in input_shape)
    first = structure[0]
    if len(image) not in (2, 3) or first.kind != "Linear" or math.prod(image) != first.in_features:
        return None
    return image


def _layer_cells(spec: LayerSpec, shapes: Mapping[str, tuple[int, ...]],
                 image: tuple[int, ...] | None) -> tuple[Cells, float, float]:
    """Where a layer's cubes go relative to its top-left corner, and the (width, height) they take:
    tiles of ``image`` (the first layer's inputs as an image), conv tiles, or matrices."""
    if image is not None:
        return _image_tile_cells(spec, image)
    if spec.kind == "Conv2d":
        return _conv_tile_cells(spec, shapes[spec.weight][2:])
    return _matrix_cells(spec, shapes)


def _unlisted(structure: Sequence[LayerSpec], shapes: Mapping[str, tuple[int, ...]]) -> list[LayerSpec]:
    """Parameters no LayerSpec names (say, from a recorded model with other layer types), each as a
    one-tensor pseudo-layer so every parameter still gets its cubes."""
    listed = {k for s in structure for k in (s.weight, s.bias) if k is not None}
    extra = []
    for key, shape in shapes.items():
        if key not in listed:
            columns, rows = _grid_extent(tuple(shape))
            extra.append(LayerSpec(name=key, kind="tensor", in_features=columns, out_features=rows,
                                   weight=key, bias=None))
    return extra


def text_size_for(content_width: float, content_height: float, aspect: float) -> float:
    """Label height so that text is about 1/30 of the frame's shorter side (its height, unless the
    frame is portrait) whatever the network's size."""
    frame_height = max(content_height, content_width / aspect)
    return max(0.6, min(frame_height, frame_height * aspect) / 30)


def layout_network(structure: Sequence[LayerSpec], shapes: Mapping[str, tuple[int, ...]],
                   aspect: float = 16 / 9, legend_caption: str = "", size_labels: Sequence[str] = (),
                   size_caption: str = "", stacked: bool = False,
                   input_shape: Sequence[int] | None = None,
                   feature_maps: Sequence[FeatureMap] = (), feature_width: float = 0.7,
                   layer_notes: Mapping[str, str] | None = None, text_size: float | None = None,
                   per_shelf: int | None = None, labels: bool = True) -> Layout:
    """Positions of every cube and label for a network whose parameters have the given shapes
    (History key → tensor shape without the record axis), its layers in a row or, with
    ``stacked``, top to bottom. ``legend_caption`` is only measured, so the frame holds it. With
    ``size_labels``, a size legend of one cube per label, captioned ``size_caption``, goes under
    the colour legend. ``input_shape`` (one input sample's shape, ``History.input_shape``) makes a
    first Linear layer's weights tiles of that image (see the module docstring). ``feature_maps``
    (:func:`.picture.features.feature_maps`) go in a band under the layers, above the legend, at most
    ``feature_width`` times as wide as the layers when that fits. ``layer_notes`` (layer name → text)
    are added to those layers' labels, e.g. each layer's own colour scale. ``text_size`` is the labels'
    height (by default from the grids' extent; :func:`.view_layout.layout_for_frame` fits it to the
    frame). With ``per_shelf`` the row wraps after that many layers onto the next shelf, each neuron
    column then right of its own layer (``Layout.grouped``), and each label takes two lines: a row
    whose labels are much wider than its grids is otherwise too wide for its text to be legible.
    Without ``labels`` the layers' labels are kept with no text (the scene names each layer's
    collection by its label) and take no room, and a note under the layers says so."""
    shapes = {k: tuple(int(n) for n in v) for k, v in shapes.items()}
    layers = list(structure)
    for spec in layers:
        if spec.kind != "tensor":
            _check_shapes(spec, shapes)
    image = image_input(layers, input_shape)
    layers += _unlisted(layers, shapes)
    if not layers:
        raise ValueError("layout: the history has no parameters to draw")

    drawn = [_layer_cells(spec, shapes, image if i == 0 else None) for i, spec in enumerate(layers)]
    grid_widths = [width for _, width, _ in drawn]
    grid_heights = [height for _, _, height in drawn]
    layer_gap = 3.0
    if text_size is not None:
        size = text_size
    elif stacked:
        # Under the stack come the task view and loss curve, together about as tall as it is wide.
        height = sum(grid_heights) + layer_gap * (len(layers) - 1) + max(grid_widths)
        size = text_size_for(max(grid_widths), height, aspect)
    else:
        size = text_size_for(sum(grid_widths) + layer_gap * (len(layers) - 1), max(grid_heights), aspect)
    titles = [layer_title(s, shapes[s.weight]) if s.kind != "tensor" else f"{s.name} {tuple(shapes[s.weight])}"
              for s in layers]
    notes = layer_notes or {}
    titles = [f"{title} · {notes[s.name]}" if s.name in notes else title
              for s, title in zip(layers, titles, strict=True)]
    if not labels:
        titles = ["" for _ in titles]
    # On shelves (``per_shelf`` given, all on one shelf included) a label names its layer on one line and
    # says what it is on the next: a transformer's labels are much wider than its grids, and two
    # shorter lines let more layers share a shelf.
    lines = 2 if per_shelf is not None else 1
    if lines == 2:
        titles = [title.replace(" · ", "\n", 1) for title in titles]
    rise = (lines - 1) * features.LINE_HEIGHT * size  # of a label's first baseline over a one-line label's
    # A layer's slot is wide enough for its grid and its label, whichever is wider.
    slot_widths = [max(width, lines_width(title, size)) for width, title in zip(grid_widths, titles, strict=True)]
    # Under a layer: a gap, then the next layer's label lines (as much as the first layer's above it).
    line_gap = max(1.5, size) + 1.7 * size + rise
    if stacked:
        corners = _stacked_corners(grid_heights, gap=line_gap)
    else:
        corners = _row_corners(slot_widths, grid_heights, gap=max(layer_gap, 1.5 * size), line_gap=line_gap,
                               per_shelf=per_shelf or len(layers))

    blocks: list[Block] = []
    named: dict[str, Label] = {}
    for spec, title, (left, grid_top), (cells, _, _) in zip(layers, titles, corners, drawn, strict=True):
        named[spec.name] = Label(title, (left, 0.0, grid_top + 0.6 * size + rise), size)
        for role, key, positions, indices in cells:
            role_name = role if spec.kind != "tensor" else key
            placed = positions + np.array([left, 0.0, grid_top])
            blocks.append(Block(spec.name, role_name, key, shapes[key], placed, indices))
    right = max(left + width for (left, _), width in zip(corners, slot_widths, strict=True))
    bottom = min(grid_top - height for (_, grid_top), height in zip(corners, grid_heights, strict=True))
    hidden = [] if labels else [Label(hidden_note(len(layers), "layers"), (0.0, 0.0, bottom - 1.5 * size), 0.8 * size)]
    if hidden:
        right, bottom = max(right, text_width(hidden[0].text, hidden[0].size)), bottom - 2.0 * size
    return framed(blocks, named, right, bottom, size, legend_caption, size_labels, size_caption, stacked,
                  feature_maps, feature_width, hidden, grouped=per_shelf is not None and per_shelf < len(layers),
                  label_rise=rise)


def hidden_note(count: int, what: str) -> str:
    """The line a frame shows when it leaves its ``count`` names of ``what`` out (too small to read)."""
    return f"labels hidden: the names of {count} {what} would be too small to read in this frame"


def framed(blocks: list[Block], labels: dict[str, Label], right: float, bottom: float, size: float,
           legend_caption: str = "", size_labels: Sequence[str] = (), size_caption: str = "",
           stacked: bool = False, feature_maps: Sequence[FeatureMap] = (), feature_width: float = 0.7,
           part_labels: Sequence[Label] = (), skips: Sequence[np.ndarray] = (), grouped: bool = False,
           label_rise: float = 0.0) -> Layout:
    """The Layout of cubes already placed (their grids' tops at z = 0, reaching ``right`` and down
    to ``bottom``) with labels of text height ``size`` (their first baselines ``label_rise`` higher
    than one line's, for labels of more lines): the feature-map band under them, the legends under
    that, the overlay's space above."""
    top = 0.0  # of the first layer's grids
    band = None
    if feature_maps:
        band = features.place(feature_maps, left=0.0, top=bottom - 1.0 * size, max_width=feature_width * right,
                              size=size)
        bottom = band.bounds[0][2]
        right = max(right, band.bounds[1][0])

    legend_width = min(max(right * 0.35, 8 * size), right)
    legend = _legend(left=0.0, top=bottom - 1.5 * size, width=legend_width, size=size)
    legend_bottom = legend.value_label_anchors[0][2] - 0.5 * size
    caption_end = legend.caption_anchor[0] + text_width(legend_caption, legend.text_size)
    size_legend = None
    if size_labels:
        size_legend = _size_legend(top=legend_bottom - 0.5 * size, size=size, labels=size_labels,
                                   caption=size_caption)
        legend_bottom = size_legend.labels[0].position[2] - 0.5 * size
        caption = size_legend.caption
        caption_end = max(caption_end, caption.position[0] + text_width(caption.text, caption.size))
    labels_top = top + 1.7 * size + label_rise
    # Half a line more between the overlay's last line and the layer labels, so they read apart.
    overlay_gap = 0.5 * LINE_SPACING * size
    overlay_anchor = (0.0, 0.0, labels_top + overlay_gap + OVERLAY_LINES * LINE_SPACING * size)
    # One line of slack above the anchor in case the overlay puts its first baseline there.
    bounds = ((0.0, -CUBE_SIZE / 2, legend_bottom), (max(right, caption_end), CUBE_SIZE / 2,
                                                      overlay_anchor[2] + size))
    legend_bounds = ((0.0, -CUBE_SIZE / 2, legend_bottom), (caption_end, CUBE_SIZE / 2, bottom - 1.5 * size))
    return Layout(blocks, labels, legend, overlay_anchor, size, bounds, size_legend, legend_bounds, stacked,
                  band.blocks if band else [], band.labels if band else [], band.bounds if band else None,
                  list(part_labels), list(skips), grouped)


def _row_corners(widths: Sequence[float], heights: Sequence[float], gap: float, line_gap: float,
                 per_shelf: int) -> list[tuple[float, float]]:
    """(left, top) of each layer's slot in top-aligned rows of ``per_shelf`` slots, ``gap`` apart; a
    shelf starts ``line_gap`` (room for its labels) under the tallest grid of the one above."""
    corners, left, top = [], 0.0, 0.0
    for i, width in enumerate(widths):
        if i and i % per_shelf == 0:
            top -= max(heights[i - per_shelf:i]) + line_gap
            left = 0.0
        corners.append((left, top))
        left += width + gap
    return corners


def _stacked_corners(heights: Sequence[float], gap: float) -> list[tuple[float, float]]:
    """(left, top) of each layer's grids in one left-aligned column, ``gap`` apart."""
    corners, top = [], 0.0
    for height in heights:
        corners.append((0.0, top))
        top -= height + gap
    return corners


def _legend(left: float, top: float, width: float, size: float) -> Legend:
    segment_width = width / LEGEND_SEGMENTS
    height = 0.8 * size
    values = np.linspace(-1.0, 1.0, LEGEND_SEGMENTS)
    positions = np.zeros((LEGEND_SEGMENTS, 3))
    positions[:, 0] = left + (np.arange(LEGEND_SEGMENTS) + 0.5) * segment_width
    positions[:, 2] = top - height / 2
    label_z = top - height - 1.1 * size
    text_size = 0.8 * size
    anchors = ((left, 0.0, label_z), (left + width / 2, 0.0, label_z), (left + width, 0.0, label_z))
    caption = (left + width + 1.0 * size, 0.0, top - height / 2 - 0.35 * text_size)
    return Legend(positions, values, (segment_width, CUBE_SIZE, height), anchors, caption, text_size)


def _size_legend(top: float, size: float, labels: Sequence[str], caption: str) -> SizeLegend:
    text_size = 0.8 * size
    # Each entry is as wide as the widest label (plus a gap), and at least two cells.
    pitch = max(2.0, max(text_width(t, text_size) for t in labels) + size)
    centre_z = top - CUBE_SIZE / 2
    positions = np.zeros((len(labels), 3))
    positions[:, 0] = (np.arange(len(labels)) + 0.5) * pitch
    positions[:, 2] = centre_z
    label_z = top - CUBE_SIZE - 1.1 * size
    placed = tuple(Label(t, (float(x), 0.0, label_z), text_size, "CENTER")
                   for t, x in zip(labels, positions[:, 0], strict=True))
    caption_label = Label(caption, (len(labels) * pitch + 0.5 * size, 0.0, centre_z - 0.35 * text_size),
                          text_size)
    return SizeLegend(positions, placed, caption_label)


def camera_framing(bounds: Bounds, aspect: float,
                   margin: float = 0.06) -> tuple[tuple[float, float, float], float]:
    """(centre in the XZ plane, orthographic scale) that shows ``bounds`` whole in a frame of the given
    width/height ``aspect``, with ``margin`` (a fraction of the frame) free on every side."""
    if not (aspect > 0 and math.isfinite(aspect)):
        raise ValueError(f"camera_framing: aspect must be a positive number, got {aspect}")
    (x0, _, z0), (x1, _, z1) = bounds
    width, height = (x1 - x0), (z1 - z0)
    # Blender's orthographic scale spans the wider side of the frame.
    frame_width = max(width, height * aspect) / (1 - 2 * margin)
    scale = frame_width if aspect >= 1 else frame_width / aspect
    return ((x0 + x1) / 2, 0.0, (z0 + z1) / 2), scale
