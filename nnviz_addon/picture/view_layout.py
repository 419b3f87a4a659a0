"""Where the learning views go around the network's cubes, as pure numpy (no bpy).

Same picture plane as :mod:`.layout` (x right, z up, the camera looks along +y):

    [overlay text]   [loss curve ──────────────────]
    layer 0 ...       layer 2 ...
    ● ■■■ ■  ●  ■■■■ ■  ●                    [task view]
    ● ■■■ ■  ●          (P(class) tiles,
      ■■■ ■  ●           colour swatches or
      ...                the probe digit)
    [legend]
    circles: each neuron's output ...

Neuron columns stand in the gaps between weight grids: left of the first grid for the inputs, after
each drawn layer for its outputs, so a layer's output neuron ``i`` sits level with row ``i`` of that
layer's weight grid (the row that computes it) — for a layer drawn as tiles or bands (see
:mod:`.layout`) they are a plain column in unit order; their caption goes under the legends. The task view
goes where it makes the whole picture largest in the frame: right of everything (as tall as the
network with its labels and legends), or, when the last layer is much shorter than the first (digits'
64-32-10), in the empty space under the last layer; in a square or portrait frame (width/height below
``STACK_ASPECT``) also in a band under everything, when that covers more of the frame. The loss
curve fills the band the overlay text leaves free above the network, beside the step counter.

When the layout stacks its layers top to bottom (``Layout.stacked``, a portrait frame), each layer's
output column stands right of its own grids, level with its rows, and the loss curve and then the
task view take bands under everything, as wide as the picture. :func:`layout_for_frame` decides
whether a frame gets the row or the stack, by which shows the whole picture larger.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..history import LayerSpec, ModelGraph
from .features import FeatureMap
from .layout import LINE_SPACING, OVERLAY_LINES, Layout, camera_framing, layout_network
from .legibility import least_text_size
from .model_layout import layout_model
from .shapes import CUBE_SIZE, Bounds, text_width

NEURON_OFFSET = 1.5  # cells from a grid's outer edge to the input / last output column
NEURON_RADIUS = 0.4  # of a neuron sphere at full spacing (one grid cell), like a cube's half size
NEURON_CAPTION = "circles: each neuron's output for one probe input"
# The instanced writer draws neurons as squares; as long as the circles' caption, so the layout holds it.
INSTANCED_NEURON_CAPTION = "squares: each neuron's output for one probe input"
CAPTION_SCALE = 0.8  # of the layout's text size, like the legend's labels
# The task view under the last layer must keep at least this share of the side it would have beside
# the network: a picture framed larger is no gain if the task view in it shrinks to a stamp.
UNDER_MIN_SHARE = 0.55
# Below this width/height the task view may also go under everything (see place_views); 16:9 frames
# keep it beside the network or under its last layer.
STACK_ASPECT = 1.3
# Under stacked layers the task view is at least this share of the picture's width tall: less would
# leave a strip too thin for its title, plot and key.
TASK_MIN_SHARE = 0.6
# Below this width/height the layers may stack top to bottom (see layout_for_frame). A square frame keeps
# the row: every preset's row is at least as wide as tall, so it still spans the square's width, and
# the task view's band under it fills the height (STACK_ASPECT).
PORTRAIT_ASPECT = 1.0
# The shares of the layers' width a band of feature maps may take (layout_for_frame tries each).
FEATURE_WIDTHS = (0.7, 0.5, 1.0)
# A recorded model's label height in grid cells, at least legible (legibility.least_text_size) and at
# most this share of the frame's shorter side, as a preset's layer labels.
MODEL_TEXT_CELLS = 1.25
MODEL_TEXT_MAX_SHARE = 1 / 30
MODEL_TEXT_MAX_CELLS = 8.0  # legible names taller than this many cubes would leave the cubes specks: hidden instead
FIT_ROUNDS = 8  # of fitting the text size to the frame it changes (_fitted)
# Cubes narrower than this many pixels are drawn without gaps (cube_fill).
CLEAN_CUBE_PIXELS = 3.0
# Attention maps (picture/attention.py) take a band under the picture, at least this share of the
# frame's height when the frame has no room to spare under it.
BAND_MIN_SHARE = 0.35
# The overlay's usual widest line, for judging a layout before the history's own lines are measured.
TYPICAL_OVERLAY_LINE = "loss 0.00556   accuracy 100.0%"


@dataclass(frozen=True)
class Rect:
    """An area of the picture plane (y = 0) and the text height to use inside it."""

    left: float
    bottom: float
    width: float
    height: float
    text_size: float

    def __post_init__(self) -> None:
        if not (self.width > 0 and self.height > 0 and self.text_size > 0):
            raise ValueError(f"Rect: width, height and text_size must be > 0, got {self.width}, "
                             f"{self.height}, {self.text_size}")

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def top(self) -> float:
        return self.bottom + self.height


@dataclass(frozen=True)
class NeuronPlacement:
    """x of each neuron column and the vertical extent of each (plain numbers).

    ``layer_x`` maps a drawn layer's name (``LayerSpec.name``) to the column of its output neurons.
    Columns are top-aligned at ``top``, or, for a layer in ``layer_extent`` (stacked layers), at that
    layer's own (top, bottom); a column with more neurons than its extent has cells packs them closer
    (and draws them smaller) so it never outgrows its grid.
    """

    input_x: float
    layer_x: dict[str, float]
    top: float
    bottom: float
    caption: tuple[float, float] | None = None  # (x, z) of the line saying what the spheres show
    text_size: float = 1.0
    layer_extent: dict[str, tuple[float, float]] = field(default_factory=dict)

    def spacing(self, count: int, layer: str | None = None) -> float:
        """Centre distance of a column of ``count`` neurons: the input column's, or ``layer``'s."""
        top, bottom = self.layer_extent.get(layer, (self.top, self.bottom))
        return min(1.0, (top - bottom) / max(count, 1))

    def positions(self, x: float, count: int, layer: str | None = None) -> np.ndarray:
        """(count, 3) centres of a column of ``count`` neurons at ``x``: the input column, or the
        output column of ``layer``."""
        top = self.layer_extent.get(layer, (self.top, self.bottom))[0]
        positions = np.zeros((count, 3))
        positions[:, 0] = x
        positions[:, 2] = top - (np.arange(count) + 0.5) * self.spacing(count, layer)
        return positions


@dataclass(frozen=True)
class ViewPlacement:
    neurons: NeuronPlacement
    task: Rect
    loss: Rect


def neuron_placement(layout: Layout) -> NeuronPlacement:
    """Neuron columns for the cubes of ``layout``: one left of the first grid, and for each layer one
    in the gap to the next layer's grids (in a row) or right of its own (stacked, or the last)."""
    if not layout.blocks:
        raise ValueError("neuron_placement: the layout has no blocks")
    centres: dict[str, np.ndarray] = {}  # layer → its cube centres, in layout order
    for block in layout.blocks:
        centres[block.layer] = np.concatenate([centres.get(block.layer, np.zeros((0, 3))), block.positions])
    names = list(centres)
    lefts = [float(centres[name][:, 0].min()) - 0.5 for name in names]
    layer_x = {}
    for name, following_left in zip(names, [*lefts[1:], None], strict=True):
        right = float(centres[name][:, 0].max()) + 0.5
        beside = following_left is not None and not (layout.stacked or layout.grouped)
        layer_x[name] = (right + following_left) / 2 if beside else right + NEURON_OFFSET
    extent = {name: (float(c[:, 2].max()) + 0.5, float(c[:, 2].min()) - 0.5) for name, c in centres.items()}
    if layout.stacked or layout.grouped:  # each column beside its own layer's grids
        (top, bottom), layer_extent = extent[names[0]], extent
    else:  # one row: every column as tall as the tallest grid
        top, bottom, layer_extent = max(t for t, _ in extent.values()), min(b for _, b in extent.values()), {}
    return NeuronPlacement(input_x=lefts[0] - NEURON_OFFSET, layer_x=layer_x, top=top, bottom=bottom,
                           layer_extent=layer_extent)


def neuron_extent(placement: NeuronPlacement) -> tuple[float, float]:
    """The x range every neuron column covers, spheres included."""
    xs = [placement.input_x, *placement.layer_x.values()]
    return min(xs) - NEURON_RADIUS, max(xs) + NEURON_RADIUS


def place_views(layout: Layout, overlay_width: float, aspect: float = 16 / 9) -> ViewPlacement:
    """Neuron columns (captioned under the legends), the task view's rectangle and the loss curve's
    band for ``layout``, framed for a picture of width/height ``aspect``.

    ``overlay_width`` is the width of the overlay's widest line (title or counter), which the loss
    curve keeps clear of.
    """
    size = layout.text_size
    (_, _, bottom), (right, _, top) = layout.bounds
    caption_size = CAPTION_SCALE * size
    caption = (layout.legend.value_label_anchors[0][0], bottom - size)
    neurons = replace(neuron_placement(layout), caption=caption, text_size=size)
    bottom = caption[1] - 0.3 * caption_size
    under_right = caption[0] + text_width(NEURON_CAPTION, caption_size)
    if layout.legend_bounds is not None:
        under_right = max(under_right, layout.legend_bounds[1][0])
    if layout.features_bounds is not None:  # the task view under the last layer keeps clear of the maps
        under_right = max(under_right, layout.features_bounds[1][0])
    right = max(right, neuron_extent(neurons)[1])
    # The layer labels' tops: the overlay band is above them, the network's body below.
    body_top = max(label.position[2] for label in layout.layer_labels.values()) + size
    band_bottom = body_top + 0.5 * size
    band_top = max(top, layout.overlay_anchor[2] + size)

    content_right = max(right, under_right)
    if layout.stacked:
        task, loss = _under_the_stack(max(content_right, overlay_width), bottom, band_top, aspect, size)
        return ViewPlacement(neurons, task, loss)
    side = body_top - bottom
    beside = Rect(left=content_right + 2 * size, bottom=bottom, width=side, height=side, text_size=size)

    def frame_scale(rect: Rect, top: float = band_top) -> float:
        box = ((0.0, 0.0, min(bottom, rect.bottom)), (max(content_right, rect.right), 0.0, top))
        return camera_framing(box, aspect)[1]

    task = beside
    under = _under_last_layer(layout, left_limit=under_right + 2 * size, right=right, bottom=bottom)
    if (under is not None and min(under.width, under.height) >= UNDER_MIN_SHARE * side
            and frame_scale(under) < frame_scale(beside)):
        task = under
    if aspect < STACK_ASPECT:
        # A square or portrait frame has height to spare: the task view may take a band under
        # everything, as wide as the network, at least as tall as beside it and as tall as fills
        # the frame. It goes there when the picture then covers more of the frame.
        top_below = max(band_top, _loss_band(overlay_width, content_right, band_bottom, band_top, size).top)
        below = _below_everything(content_right, bottom, top_below, aspect, min_height=side, size=size)

        def coverage(rect: Rect, top: float = band_top) -> float:
            width, height = max(content_right, rect.right), top - min(bottom, rect.bottom)
            frame_width = max(width, height * aspect)
            return width * height / (frame_width * frame_width / aspect)

        if coverage(below, top_below) > coverage(task):
            task = below
    return ViewPlacement(neurons, task, _loss_band(overlay_width, max(task.right, right), band_bottom,
                                                   band_top, size))


def layout_for_frame(structure: Sequence[LayerSpec], shapes: Mapping[str, tuple[int, ...]], aspect: float,
                     legend_caption: str = "", size_labels: Sequence[str] = (), size_caption: str = "",
                     input_shape: Sequence[int] | None = None,
                     feature_maps: Sequence[FeatureMap] = (), graph: ModelGraph | None = None,
                     layer_notes: Mapping[str, str] | None = None, attention: bool | None = None) -> Layout:
    """:func:`.layout.layout_network` for a picture of width/height ``aspect``: the layers in a row,
    or, in a frame narrower than tall, stacked top to bottom when the whole picture (learning views
    included) then shows larger. A nearly square frame (4:5) still fits most rows better, with the
    task view under them, but a deep network's row is too long for it and stacks even there.
    A row whose labels can't be legible (:mod:`.legibility`; labels much wider than their grids, as
    a transformer's long module names over 32-wide weights) wraps onto shelves instead, its text
    sized from the frame: the number of layers a shelf holds that shows the picture largest wins.
    ``input_shape``, ``feature_maps`` and ``layer_notes`` as for ``layout_network``. A recorded model's ``graph``
    draws every parameter grouped as the model nests them (:func:`.model_layout.layout_model`). The
    frame holds the attention maps' band when ``attention`` says so (by default: :func:`draws_attention`)."""
    if attention is None:
        attention = draws_attention(structure, graph)
    if graph is not None:
        return _model_for_frame(graph, structure, shapes, aspect, legend_caption, size_labels, size_caption,
                                input_shape, feature_maps, attention, layer_notes)

    def arranged(stacked: bool, per_shelf: int | None = None, labels: bool = True,
                 text_size: float | None = None) -> Layout:
        # A band of feature maps may take more or less of the layers' width: the narrower, the taller,
        # and the task view may need the room beside it. The one that shows the picture largest wins.
        widths = FEATURE_WIDTHS if feature_maps else FEATURE_WIDTHS[:1]
        options = [layout_network(structure, shapes, aspect, legend_caption, size_labels, size_caption, stacked,
                                  input_shape, feature_maps, width, layer_notes, text_size, per_shelf, labels)
                   for width in widths]
        return min(options, key=lambda layout: picture_scale(layout, aspect, attention))

    row = arranged(stacked=False)
    if aspect < PORTRAIT_ASPECT:
        column = arranged(stacked=True)
        # The smaller camera scale shows every cube larger; a tie keeps the row.
        row = column if picture_scale(column, aspect, attention) < picture_scale(row, aspect, attention) else row
    if is_legible_in_frame(row, aspect, attention):
        return row
    # Text fitted to the frame: the row (or the stack) if that makes it legible, else the shelves, else
    # the row (or stack) without the layers' names, a note saying so.
    plain = [(False, None, True), *([(True, None, True)] if aspect < PORTRAIT_ASPECT else [])]
    shelves = [(False, n, True) for n in range(1, len(structure) + 1)]  # all on one: a row of two-line labels
    unnamed = [(stacked, per_shelf, False) for stacked, per_shelf, _ in plain]
    fitted: list[Layout] = []
    for ways in (plain, shelves, unnamed):
        fitted += [_fitted(lambda size, way=way: arranged(*way, size), aspect, attention) for way in ways]
        legible = [layout for layout in fitted if is_legible_in_frame(layout, aspect, attention)]
        if legible:
            return min(legible, key=lambda layout: picture_scale(layout, aspect, attention))
    return max(fitted, key=lambda layout: layout.text_size / picture_scale(layout, aspect, attention))


def _model_for_frame(graph: ModelGraph, structure: Sequence[LayerSpec], shapes: Mapping[str, tuple[int, ...]],
                     aspect: float, legend_caption: str, size_labels: Sequence[str], size_caption: str,
                     input_shape: Sequence[int] | None, feature_maps: Sequence[FeatureMap],
                     attention: bool, layer_notes: Mapping[str, str] | None = None) -> Layout:
    """:func:`.model_layout.layout_model` with labels a little taller than a cube, but legible
    (:mod:`.legibility`) and never over ``MODEL_TEXT_MAX_SHARE`` of the frame's shorter side: a whole
    model has many labels, and text much taller than its cubes would crowd them out of a small
    model's frame. A model whose names can't be legible at any size is drawn without them, and
    a note says so. ``layer_notes`` end the modules' labels."""
    def best(text_size: float | None, labels: bool = True) -> Layout:
        return min((layout_model(graph, structure, shapes, aspect, legend_caption, size_labels, size_caption,
                                 input_shape, feature_maps, width, text_size or MODEL_TEXT_CELLS, layer_notes,
                                 labels)
                    for width in (FEATURE_WIDTHS if feature_maps else FEATURE_WIDTHS[:1])),
                   key=lambda layout: picture_scale(layout, aspect, attention))

    named = _fitted(best, aspect, attention, most_share=MODEL_TEXT_MAX_SHARE)
    if is_legible_in_frame(named, aspect, attention) and named.text_size <= MODEL_TEXT_MAX_CELLS:
        return named
    # Names that set the picture's width shrink with it: no size makes them legible. They go, with a
    # note, if that makes the rest legible; else (a small model's captions and overlay are wider than
    # its cubes) the frame whose text is largest is kept, names and all when it is that one.
    unnamed = _fitted(lambda size: best(size, labels=False), aspect, attention, most_share=MODEL_TEXT_MAX_SHARE)
    if is_legible_in_frame(unnamed, aspect, attention):
        return unnamed
    if is_legible_in_frame(named, aspect, attention):
        return named
    return max((named, unnamed), key=lambda layout: layout.text_size / picture_scale(layout, aspect, attention))


def _fitted(build: Callable[[float | None], Layout], aspect: float, attention: bool,
            most_share: float | None = None) -> Layout:
    """``build(None)`` (the layout's own text size), then built again with its text raised to the least
    legible size in its frame, or lowered to ``most_share`` of the frame's shorter side. The room
    labels take changes the framing, so the size is fitted over a few rounds; a size that grows aims
    a little above the least, as larger text widens the picture. A picture whose width is mostly
    its labels' grows with its text and never gets there: the rounds stop when the text's share of
    the frame stops growing, and the layout whose text was most legible is kept."""
    layout = build(None)
    best, best_share = None, 0.0
    for _ in range(FIT_ROUNDS):
        scale = picture_scale(layout, aspect, attention)
        least = least_text_size(scale, aspect)
        most = most_share * scale / max(aspect, 1 / aspect) if most_share is not None else math.inf
        if 0.999 * least <= layout.text_size <= 1.02 * most:
            return layout
        if layout.text_size < least:
            share = layout.text_size / least
            if share < 0.95 * best_share:  # larger text lost ground: the labels set the frame's size
                break
            if share > best_share:
                best, best_share = layout, share
        layout = build(min(max(layout.text_size, 1.15 * least), most))
    return best or layout


def is_legible_in_frame(layout: Layout, aspect: float, attention: bool = False) -> bool:
    """Whether ``layout``'s smallest text is legible as the scene frames it (:mod:`.legibility`)."""
    return layout.text_size >= 0.999 * least_text_size(picture_scale(layout, aspect, attention), aspect)


def band_under_picture(picture: Bounds, aspect: float, text_size: float) -> Rect:
    """The attention maps' band under everything else (``picture``), as wide as it, as tall as the
    frame of width/height ``aspect`` has to spare under a wide row of layers, at least
    ``BAND_MIN_SHARE`` of the frame's height."""
    (left, _, bottom), (right, _, top) = picture
    width = right - left
    frame_height = max(width / aspect, top - bottom)
    height = max(frame_height - (top - bottom), BAND_MIN_SHARE * frame_height)
    gap = 1.5 * text_size
    return Rect(left, bottom - gap - height, width, height, text_size)


def draws_attention(structure: Sequence[LayerSpec], graph: ModelGraph | None) -> bool:
    """Whether the picture gets attention maps under it: a preset's transformer layer and a recorded
    ``MultiheadAttention`` record their heads' weights (training/probes.py, training/record.py). The
    layout is chosen before the History's series are read, so it goes by the layers."""
    if graph is not None:
        return any(module.kind == "MultiheadAttention" for module in graph.modules)
    return any(spec.weight.endswith("in_proj_weight") for spec in structure)


def picture_scale(layout: Layout, aspect: float, attention: bool = False) -> float:
    """The camera's orthographic scale (in grid cells) that frames ``layout`` with its views placed
    for a picture of width/height ``aspect`` (and with ``attention``, the attention maps' band
    under it): the smaller, the larger every cube shows."""
    return camera_framing(picture_bounds(layout, aspect, attention), aspect)[1]


def picture_bounds(layout: Layout, aspect: float, attention: bool = False) -> Bounds:
    """The box the scene frames for ``layout``: its cubes and text, the overlay, the neuron columns
    and their caption, the task view and loss curve, and with ``attention`` the maps' band."""
    size = layout.text_size
    overlay_width = text_width(TYPICAL_OVERLAY_LINE, size)
    places = place_views(layout, overlay_width, aspect)
    neurons = places.neurons
    neuron_left, neuron_right = neuron_extent(neurons)
    caption_x, caption_z = neurons.caption  # type: ignore[misc]  # place_views always sets it
    x, _, z = layout.overlay_anchor
    boxes = [layout.bounds, ((x, 0.0, z), (x + overlay_width, 0.0, z)),
             ((neuron_left, 0.0, neurons.bottom), (neuron_right, 0.0, neurons.top)),
             ((caption_x, 0.0, caption_z), (caption_x + text_width(NEURON_CAPTION, CAPTION_SCALE * size), 0.0,
                                            caption_z)),
             *(((r.left, 0.0, r.bottom), (r.right, 0.0, r.top)) for r in (places.task, places.loss))]
    picture = union(*boxes)
    if not attention:
        return picture
    band = band_under_picture(picture, aspect, size)
    return union(picture, ((band.left, 0.0, band.bottom), (band.right, 0.0, band.top)))


def cube_pixels(layout: Layout, resolution: tuple[int, int]) -> float:
    """How many pixels wide each cube of ``layout`` is drawn in a ``resolution`` (width, height)
    frame, the whole picture (learning views included) framed as the scene frames it. Below about
    2 a cube no longer reads as a cube; see docs/big-networks.md for what nnviz does then (and
    :func:`cube_fill`)."""
    width, height = resolution
    aspect = width / height
    scale = picture_scale(layout, aspect)
    frame_width = scale if aspect >= 1 else scale * aspect  # the ortho scale spans the wider side
    return CUBE_SIZE * width / frame_width


def cube_fill(layout: Layout, resolution: tuple[int, int]) -> float:
    """How many times ``CUBE_SIZE`` a cube's edge is drawn in a ``resolution`` frame: 1, with its gap
    to the next cube, or, when a cube is under ``CLEAN_CUBE_PIXELS`` wide, 1 / ``CUBE_SIZE`` (the
    whole grid cell, no gap). A gap under a pixel wide is not seen as a gap: it mixes the background
    into some pixels and not others, a moiré of grey lines across a tile; without gaps a tile is a
    picture of its weights, and the gaps between tiles (a whole cell) still set the tiles apart."""
    return 1 / CUBE_SIZE if cube_pixels(layout, resolution) < CLEAN_CUBE_PIXELS else 1.0


def _under_the_stack(width: float, bottom: float, top: float, aspect: float, size: float) -> tuple[Rect, Rect]:
    """(task view, loss curve) in bands under stacked layers (whose picture runs from ``top`` down to
    ``bottom``), each as wide as the picture: first the loss curve, as tall as the overlay text or 1/6
    of its width, then the task view, as tall as fills a frame of the picture's width, but at least
    ``TASK_MIN_SHARE`` of that width and at most square. The task view goes last because it may not
    use all its height (the digit view keeps its proportions): the spare height is then a margin at
    the frame's edge, not a gap inside the picture."""
    gap = 1.5 * size
    loss_height = max(OVERLAY_LINES * LINE_SPACING * size, width / 6)
    loss = Rect(left=0.0, bottom=bottom - gap - loss_height, width=width, height=loss_height, text_size=size)
    fill = width / aspect - (top - loss.bottom) - gap
    task_height = min(max(fill, TASK_MIN_SHARE * width), width)
    task = Rect(left=0.0, bottom=loss.bottom - gap - task_height, width=width, height=task_height,
                text_size=size)
    return task, loss


def _loss_band(overlay_width: float, right: float, band_bottom: float, band_top: float,
               size: float) -> Rect:
    """The loss curve's band right of the overlay text (up to ``right``), or above the text when
    there is no room beside it."""
    band_height = max(band_top - band_bottom, OVERLAY_LINES * LINE_SPACING * size)
    left = overlay_width + 2 * size
    # A loss curve much wider than tall is hard to read; beyond 6:1 it keeps to the left.
    width = min(right - left, 6 * band_height)
    if width < 4 * size:  # nothing beside the text: the curve goes on top of it
        left, width = 0.0, right
        band_bottom = band_top + 0.5 * size
    return Rect(left=left, bottom=band_bottom, width=width, height=band_height, text_size=size)


def _below_everything(right: float, bottom: float, top: float, aspect: float, min_height: float,
                      size: float) -> Rect:
    """A band under the neuron caption spanning the content's width (0..``right``) whose height makes
    the picture from ``top`` down as tall as the frame is for that width, at least ``min_height`` and
    at most square."""
    band_top = bottom - 1.5 * size
    fill = right / aspect - (top - band_top)
    height = min(max(fill, min_height), right)
    return Rect(left=0.0, bottom=band_top - height, width=right, height=height, text_size=size)


def _under_last_layer(layout: Layout, left_limit: float, right: float, bottom: float) -> Rect | None:
    """The free rectangle under the last layer's grids and right of the legends (at least square), or
    None if there is no room under the last layer."""
    last = list(layout.layer_labels)[-1]
    blocks = [b for b in layout.blocks if b.layer == last]
    left = max(min(float(b.positions[:, 0].min()) - 0.5 for b in blocks), left_limit)
    size = layout.text_size
    top = min(float(b.positions[:, 2].min()) - 0.5 for b in blocks) - 1.5 * size
    if top - bottom <= size:
        return None
    # Nothing is right of the network below the overlay band: the view may reach past it to be square.
    width = max(right - left, top - bottom)
    return Rect(left=left, bottom=bottom, width=width, height=top - bottom, text_size=size)


def union(*bounds: Bounds | None) -> Bounds:
    """The smallest box holding every given box (None entries, parts that drew nothing, are skipped)."""
    present = [b for b in bounds if b is not None]
    if not present:
        raise ValueError("union: no bounds given")
    low = np.min([b[0] for b in present], axis=0)
    high = np.max([b[1] for b in present], axis=0)
    return (tuple(float(v) for v in low), tuple(float(v) for v in high))  # type: ignore[return-value]
