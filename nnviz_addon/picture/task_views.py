"""The task views' plan: what the task the network is learning looks like, from the probe data in a
History (see :mod:`..probes`), as flat patches, spheres, bars and labels with their positions, sizes
and colours at every record (pure numpy, no bpy). ``scene.task_views`` only writes it.

One view per kind of task, chosen by which keys the History has:

- rgb: for a few probe colours, swatches of the input, the target and the network's current answer;
- 2D classification: the data points (an even sample of ``MAX_DRAWN_POINTS`` when there are more)
  over a tiled plane whose tiles show P(class 1), like TensorFlow Playground's output map;
- digits: the probe digit as an 8 × 8 image and the ten class probabilities as bars;
- a sequence task: the probe sequence in, its target, and out, the network's probability of every
  token at every position (a column per position, a row per token, the target's cell green);
- a table of more than two features (or a regression table): a few probe samples, a column each,
  with the network's class probabilities as bars (a row per class, the true class's bar green), or
  the true value over the network's.

A recorded run's probe that is neither an image, tokens nor the first drawn layer's input (the
neurons' input column), ``probe/values``, is drawn above whichever view the History has (or alone):
a labelled row of value cells, each coloured by the weights' colour map on the probe's own scale,
its index over it and its value under it, wrapped after ``VALUES_PER_ROW`` cells.

A table's class names (``task/class_names``) label the classes; the generated tasks say "class 0".

Colours in the data are display values: the rgb task's colours and the digit's grey levels are sRGB
in [0, 1] (what a colour picker or an image file means by them), converted to the linear values
``Object.color`` holds, so the rendered swatch shows exactly the colour the numbers name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..history import History, keys
from ..preset.limits import MAX_DRAWN_POINTS
from .colormap import colors, finite_peak, linear_rgba
from .shapes import CHAR_WIDTH, Bounds, Label, text_width
from .view_layout import NEURON_RADIUS, Rect

# The two classes in sRGB: an orange and a blue far apart in hue and both clear on the dark background.
CLASS_COLORS_SRGB = np.array([(0.96, 0.55, 0.12), (0.16, 0.56, 0.94)])
# Classes past the second (a table's): green, magenta, yellow, teal, then round again.
PALETTE_SRGB = np.vstack([CLASS_COLORS_SRGB, [(0.30, 0.78, 0.35), (0.85, 0.35, 0.80), (0.93, 0.85, 0.25),
                                              (0.25, 0.80, 0.78)]])
# Tiles are the class colours darkened, so the data points (full colour) stand out on their own class.
TILE_BRIGHTNESS = 0.5
POINT_OUTLINE_SRGB = (0.92, 0.92, 0.92)
RING_DEPTH = 0.25  # a data point's ring's half depth at most: under the 0.3 between it and its point
DIGIT_BACKGROUND = 0.06  # sRGB grey of a blank pixel: the image stays visible on the dark background
BAR_SRGB = (0.62, 0.62, 0.62)
TRUE_CLASS_BAR_SRGB = (0.35, 0.85, 0.45)
TRACK_SRGB = (0.09, 0.09, 0.09)
BAR_CAPTION_ROW = 1.2  # text sizes between the top of the digit image and the top of the bars

# Each view's keys, in the order its drawing function takes the arrays.
_RGB_KEYS = (keys.RGB_INPUTS, keys.RGB_TARGETS, keys.RGB_OUTPUTS)
_BOUNDARY_KEYS = (keys.POINTS_XY, keys.POINTS_LABELS, keys.BOUNDARY_EXTENT, keys.BOUNDARY_PROBABILITY)
_DIGIT_KEYS = (keys.DIGITS_IMAGE, keys.DIGITS_LABEL, keys.DIGITS_PROBABILITIES)
_TABLE_CLASS_KEYS = (keys.TABLE_LABELS, keys.TABLE_PROBABILITIES)
_TABLE_VALUE_KEYS = (keys.TABLE_TARGETS, keys.TABLE_PREDICTIONS, keys.TABLE_RANGE)
_SEQUENCE_KEYS = (keys.SEQUENCE_INPUT, keys.SEQUENCE_TARGET, keys.SEQUENCE_TOKENS, keys.SEQUENCE_PROBABILITIES)
SEQUENCE_CELL_SRGB = (0.16, 0.16, 0.18)  # behind a token of the probe sequence
VALUES_PER_ROW = 16
MAX_SHOWN_VALUES = 64  # a longer probe shows its first values (the title says how many there are)
VALUES_SHARE = 0.35  # of the view's height: the most the values take when another view is under them


def class_blend_srgb(probability: np.ndarray) -> np.ndarray:
    """P(class 1) → the class colours mixed in that proportion (sRGB, shape (..., 3))."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)[..., None]
    return (1 - p) * CLASS_COLORS_SRGB[0] + p * CLASS_COLORS_SRGB[1]


def class_colors_srgb(classes: int) -> np.ndarray:
    """One colour per class (classes, 3), the two-class orange and blue first."""
    return PALETTE_SRGB[np.arange(classes) % len(PALETTE_SRGB)]


def class_mix_srgb(probabilities: np.ndarray) -> np.ndarray:
    """Class probabilities (..., C) → the class colours mixed in those proportions (sRGB (..., 3))."""
    weights = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    total = weights.sum(axis=-1, keepdims=True)
    weights = np.divide(weights, total, out=np.full_like(weights, 1 / weights.shape[-1]), where=total > 0)
    return weights @ class_colors_srgb(weights.shape[-1])


def tile_colors(probability: np.ndarray) -> np.ndarray:
    """Linear RGBA of decision-boundary tiles showing ``probability`` of class 1."""
    return linear_rgba(TILE_BRIGHTNESS * class_blend_srgb(probability))


def class_name(names: np.ndarray | None, index: int) -> str:
    return str(names[index]) if names is not None and index < len(names) else f"class {index}"


def digit_pixel_colors(image: np.ndarray) -> np.ndarray:
    """Linear RGBA of the digit's pixels: ink (1) white, blank (0) a dark grey."""
    grey = DIGIT_BACKGROUND + (1 - DIGIT_BACKGROUND) * np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    return linear_rgba(np.repeat(grey[..., None], 3, axis=-1))


@dataclass(frozen=True)
class Text:
    """A label (its ``label.position`` is the baseline's ``label.align`` point) named ``name``,
    in ``srgb`` (None: the label material's default colour)."""

    label: Label
    name: str
    srgb: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Patches:
    """Objects of one shared ``mesh`` ("square": a unit flat square, "sphere": the neuron sphere),
    one per name at ``positions`` (N, 3), each scaled ``scale``, coloured ``rgba`` (N, 4); with
    ``keyed_rgba`` (records, N, 4) their colour is keyed at the plan's frames. ``labels`` (N,), when
    given, is each object's ``nnviz_label`` (a data point's class)."""

    names: list[str]
    mesh: Literal["square", "sphere"]
    positions: np.ndarray
    scale: tuple[float, float, float]
    rgba: np.ndarray
    keyed_rgba: np.ndarray | None = None
    labels: np.ndarray | None = None


@dataclass(frozen=True)
class Bars:
    """Bars of ``width`` × full ``height`` (one mesh, its origin at a bar's foot), their feet at
    ``positions`` (N, 3), coloured ``rgba`` (N, 4); a bar's z scale is its fraction of the full
    height, ``heights`` (records, N), keyed when there is more than one record."""

    names: list[str]
    width: float
    height: float
    positions: np.ndarray
    rgba: np.ndarray
    heights: np.ndarray


@dataclass(frozen=True)
class TaskViewPlan:
    """The view's pieces in drawing order, keyed at ``frames``, and the box they fill."""

    frames: np.ndarray
    items: list[Text | Patches | Bars]
    bounds: Bounds


def plan(history: History, record_frames: np.ndarray, placement: Rect) -> TaskViewPlan | None:
    """The view for the History's task inside ``placement`` (left-aligned), keyed at
    ``record_frames`` (one per record, checked by the caller); None when the History has no task
    probe data."""
    data = {**history.static, **history.series}
    drawn = _view_keys(data)
    values = data.get(keys.PROBE_VALUES)
    if drawn is None and values is None:
        return None
    names = np.asarray(data[keys.CLASS_NAMES]) if keys.CLASS_NAMES in data else None
    view = _View(placement, names)
    if values is not None:
        rest = _probe_values(view, np.asarray(values), VALUES_SHARE if drawn is not None else 1.0)
        if drawn is not None:  # the view goes under the values
            view.rect = Rect(placement.left, placement.bottom, placement.width, rest - placement.bottom,
                             placement.text_size)
    if drawn is not None:
        _DRAW[drawn](view, *(np.asarray(data[k]) for k in drawn))
    return TaskViewPlan(np.asarray(record_frames, dtype=np.float64), view.items, view.bounds())


def _view_keys(data: dict[str, np.ndarray]) -> tuple[str, ...] | None:
    """The keys of the view drawn for ``data``: the first kind of task whose keys are all there."""
    return next((view_keys for view_keys in _DRAW if all(k in data for k in view_keys)), None)


def data_point_count(history: History) -> int:
    """How many data points the History's task view has (it draws a sample of at most
    ``MAX_DRAWN_POINTS``, :func:`drawn_points`)."""
    if _view_keys({**history.static, **history.series}) != _BOUNDARY_KEYS:
        return 0
    points = history.static[keys.POINTS_XY]
    return int(np.shape(points)[0]) if np.ndim(points) else 0


def drawn_points(count: int) -> np.ndarray:
    """The indices of the data points drawn of ``count``: all up to ``MAX_DRAWN_POINTS``, else
    that many spread evenly over the data (the same ones every time)."""
    if count <= MAX_DRAWN_POINTS:
        return np.arange(count)
    return np.linspace(0, count - 1, MAX_DRAWN_POINTS).round().astype(np.int64)


@dataclass
class _View:
    """A task view being planned: its rectangle, the class names, the pieces and box so far."""

    rect: Rect
    class_names: np.ndarray | None
    items: list[Text | Patches | Bars] = field(default_factory=list)
    low: np.ndarray = field(default_factory=lambda: np.full(3, np.inf))
    high: np.ndarray = field(default_factory=lambda: np.full(3, -np.inf))

    @property
    def size(self) -> float:
        return self.rect.text_size

    def grow(self, low: np.ndarray, high: np.ndarray) -> None:
        self.low, self.high = np.minimum(self.low, low), np.maximum(self.high, high)

    def bounds(self) -> Bounds:
        return tuple(self.low.tolist()), tuple(self.high.tolist())  # type: ignore[return-value]

    def squares(self, names: list[str], centres: np.ndarray, size: tuple[float, float], rgba: np.ndarray,
                keyed_rgba: np.ndarray | None = None, y: float = 0.0) -> None:
        """Flat rectangles of ``size`` (width, height) centred at ``centres`` (N, 2: x, z)."""
        self.blobs(names, "square", centres, (size[0], 1.0, size[1]), size, rgba, keyed_rgba, y)

    def blobs(self, names: list[str], mesh: Literal["square", "sphere"], centres: np.ndarray,
              scale: tuple[float, float, float], extent: tuple[float, float], rgba: np.ndarray,
              keyed_rgba: np.ndarray | None = None, y: float = 0.0, labels: np.ndarray | None = None) -> None:
        centres = np.column_stack([centres[:, 0], np.full(len(centres), y), centres[:, 1]])
        self.items.append(Patches(names, mesh, centres, scale, rgba, keyed_rgba, labels))
        half = np.array([extent[0] / 2, 0.0, extent[1] / 2])
        self.grow(centres.min(axis=0) - half, centres.max(axis=0) + half)

    def bars(self, names: list[str], width: float, height: float, feet: np.ndarray, srgb: np.ndarray,
             heights: np.ndarray) -> None:
        """Bars with their feet at ``feet`` (N, 2: x, z), just in front of their tracks."""
        positions = np.column_stack([feet[:, 0], np.full(len(feet), -0.05), feet[:, 1]])
        self.items.append(Bars(names, width, height, positions, linear_rgba(srgb), heights))

    def label(self, text: str, x: float, z: float, align: str = "LEFT", scale: float = 1.0,
              srgb: tuple[float, float, float] | None = None) -> None:
        """Text with its baseline's ``align`` point at (x, z)."""
        size = scale * self.size
        self.items.append(Text(Label(text, (x, 0.0, z), size, align), f"task · {text}", srgb))
        # Text extent from the font's average advance (Blender reports none before evaluation).
        width = text_width(text, size)
        left = {"LEFT": x, "CENTER": x - width / 2, "RIGHT": x - width}[align]
        self.grow(np.array([left, 0.0, z - 0.25 * size]), np.array([left + width, 0.0, z + size]))


def _probe_values(view: _View, values: np.ndarray, share: float) -> float:
    """The probe's values as rows of cells at the top of the view, taking at most ``share`` of its
    height; returns the height left under them (their lowest text, a line apart)."""
    rect, size = view.rect, view.size
    flat = np.asarray(values, dtype=np.float64).ravel()
    shown = flat[:MAX_SHOWN_VALUES]
    scale = finite_peak(flat)
    columns = max(1, min(len(shown), VALUES_PER_ROW))
    rows = -(-len(shown) // columns)
    texts = [f"{v:.2g}" for v in shown.tolist()]
    widest = max(text_width(t, 1.0) for t in [*texts, str(len(shown) - 1)])
    title = f"probe input · {len(flat)} value{'s' * (len(flat) != 1)}"
    if len(flat) > len(shown):
        title += f", the first {len(shown)} shown"
    title += f" · colour ±{scale:.2g}"
    view.label(title, rect.left, rect.top - size, scale=min(1.0, rect.width / text_width(title, size)))
    top = rect.top - 1.6 * size
    # A row: its indices, its cells, their values, a gap; the labels as wide as a cell at most
    # (text = fit × cell) and never taller than the view's text. The cell is as large as the width and
    # the share of the height allow: a row is (1.3 + 2.8 fit) cells tall at most.
    fit = 0.9 / widest
    cell = max(1e-3, min(rect.width / columns, 3 * size,
                         (share * rect.height - 1.6 * size) / (rows * (1.3 + 2.8 * fit))))
    text = min(0.8 * size, fit * cell)
    pitch = 1.35 * text + cell + 1.45 * text + 0.3 * cell
    row, column = np.divmod(np.arange(len(shown)), columns)
    xs = rect.left + (column + 0.5) * cell
    centres_z = top - row * pitch - 1.35 * text - cell / 2
    view.squares([f"probe · value[{i}]" for i in range(len(shown))], np.column_stack([xs, centres_z]),
                 (0.92 * cell, 0.92 * cell), colors(shown, scale))
    for i, (x, z, value) in enumerate(zip(xs.tolist(), centres_z.tolist(), texts, strict=True)):
        view.label(str(i), x, z + cell / 2 + 0.35 * text, "CENTER", scale=text / size)
        view.label(value, x, z - cell / 2 - 1.2 * text, "CENTER", scale=text / size)
    return float(top - rows * pitch)


def _rgb_swatches(view: _View, inputs: np.ndarray, targets: np.ndarray, outputs: np.ndarray) -> None:
    """A table, one row per probe colour: input, target, the network's answer (keyed)."""
    probes = len(inputs)
    if inputs.shape != (probes, 3) or targets.shape != (probes, 3) or outputs.shape[1:] != (probes, 3):
        raise ValueError(f"add_task_view: rgb/inputs {inputs.shape}, rgb/targets {targets.shape} and "
                         f"rgb/outputs {outputs.shape} must be (P, 3), (P, 3) and (records, P, 3)")
    rect, size = view.rect, view.size
    header = rect.top - 2.6 * size  # a title line and a column-header line
    cell = min((header - 0.4 * size - rect.bottom) / probes, rect.width / 3)
    # Columns at least as wide as their header ("network"), so the headers never run together.
    pitch = min(max(cell, text_width("network", 0.8 * size) + 0.6 * size), rect.width / 3)
    swatch = (pitch - 0.14 * cell, 0.86 * cell)
    columns = rect.left + (np.arange(3) + 0.5) * pitch
    rows = header - 0.4 * size - (np.arange(probes) + 0.5) * cell
    view.label("colour probes", rect.left, rect.top - size)
    for x, title in zip(columns, ("input", "target", "network"), strict=True):
        view.label(title, float(x), header + 0.2 * size, "CENTER", scale=0.8)
    for column, (kind, colours) in enumerate((("input", inputs), ("target", targets))):
        names = [f"rgb · {kind}[{i}]" for i in range(probes)]
        centres = np.column_stack([np.full(probes, columns[column]), rows])
        view.squares(names, centres, swatch, linear_rgba(colours))
    keyed = linear_rgba(outputs) if len(outputs) > 1 else None
    centres = np.column_stack([np.full(probes, columns[2]), rows])
    view.squares([f"rgb · network[{i}]" for i in range(probes)], centres, swatch,
                 linear_rgba(outputs[0]), keyed)


def _decision_boundary(view: _View, xy: np.ndarray, labels: np.ndarray, extent: np.ndarray,
                       probability: np.ndarray) -> None:
    """Class-probability tiles (keyed) under the data points (static), in the data's own aspect:
    P(class 1) for two classes, each class's probability mixing its colour for more."""
    grid = probability.shape[1]
    if probability.ndim not in (3, 4) or probability.shape[2] != grid or extent.shape != (4,):
        raise ValueError(f"add_task_view: boundary/probability {probability.shape} must be (records, G, G) "
                         f"or (records, G, G, classes) and boundary/extent {extent.shape} must be (4,)")
    if xy.ndim != 2 or xy.shape[1] != 2 or labels.shape != (len(xy),):
        raise ValueError(f"add_task_view: points/xy {xy.shape} and points/labels {labels.shape} must be "
                         f"(N, 2) and (N,)")
    classes = probability.shape[3] if probability.ndim == 4 else 2
    if labels.size and not np.isin(labels, np.arange(classes)).all():
        allowed = "0 or 1" if classes == 2 else f"0 … {classes - 1}"
        raise ValueError(f"add_task_view: points/labels must be {allowed}, got {np.unique(labels).tolist()}")
    palette = class_colors_srgb(classes)
    rect, size = view.rect, view.size
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    side = min(rect.width, rect.height - 3.0 * size)  # a title line above, the class key below
    tile = side / grid
    top = rect.top - 1.6 * size
    view.label("decision boundary", rect.left, rect.top - size)

    # Sample j sits at the centre of tile j; data coordinates map with the same affine transform.
    def to_plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.column_stack([rect.left + tile * (0.5 + (grid - 1) * (x - xmin) / (xmax - xmin)),
                                top - side + tile * (0.5 + (grid - 1) * (y - ymin) / (ymax - ymin))])

    rows, cols = np.divmod(np.arange(grid * grid), grid)
    centres = to_plane(xmin + cols * (xmax - xmin) / (grid - 1), ymin + rows * (ymax - ymin) / (grid - 1))
    if classes == 2:
        colors = tile_colors(probability.reshape(len(probability), -1))
    else:
        colors = linear_rgba(TILE_BRIGHTNESS * class_mix_srgb(probability.reshape(len(probability), grid * grid, -1)))
    names = [f"boundary · tile[{r},{c}]" for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    view.squares(names, centres, (tile, tile), colors[0], colors if len(colors) > 1 else None)

    chosen = drawn_points(len(xy))
    xy, labels = xy[chosen], labels[chosen]
    points = to_plane(xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64))
    radius = max(0.4 * tile, 0.06 * size)
    names = [f"data · point[{i}]" for i in chosen.tolist()]
    view.blobs(names, "sphere", points, (radius / NEURON_RADIUS,) * 3, (2 * radius,) * 2,
               linear_rgba(palette[labels.astype(np.int64)]), y=-0.5, labels=labels.astype(np.int64))
    # A light ring around each point (a larger disc just behind it) keeps it visible on its own class.
    # It is at most RING_DEPTH deep, so its front stays behind every part of its point: a ring as deep
    # as it is wide would reach in front of a large task view's points and cover them.
    ring = 1.35 * radius
    depth = min(ring, RING_DEPTH)
    view.blobs([f"data · outline[{i}]" for i in chosen.tolist()], "sphere", points,
               (ring / NEURON_RADIUS, depth / NEURON_RADIUS, ring / NEURON_RADIUS), (2 * ring,) * 2,
               np.tile(linear_rgba(np.array(POINT_OUTLINE_SRGB)), (len(points), 1)), y=-0.2)

    _class_key(view, palette, rect.left, top - side - 1.1 * size)


def _class_key(view: _View, palette: np.ndarray, left: float, z: float) -> None:
    """Each class's name in its colour, in a row from ``left``."""
    x = left
    for index, colour in enumerate(palette):
        text = class_name(view.class_names, index)
        view.label(text, x, z, scale=0.9, srgb=tuple(colour))
        x += text_width(text, 0.9 * view.size) + 1.2 * view.size


def _digit(view: _View, image: np.ndarray, label: np.ndarray, probabilities: np.ndarray) -> None:
    """The probe digit (static 8 × 8 grey levels) and ten probability bars with keyed height."""
    if image.shape != (8, 8) or probabilities.ndim != 2 or probabilities.shape[1] != 10:
        raise ValueError(f"add_task_view: digits/image {image.shape} and digits/probabilities "
                         f"{probabilities.shape} must be (8, 8) and (records, 10)")
    rect, size = view.rect, view.size
    true_class = int(label)
    side = min(0.42 * rect.width, rect.height - 3.2 * size)
    top = rect.top - 1.6 * size
    view.label(f"probe digit · label {true_class}", rect.left, rect.top - size)
    pixel = side / 8
    rows, cols = np.divmod(np.arange(64), 8)
    centres = np.column_stack([rect.left + (cols + 0.5) * pixel, top - (rows + 0.5) * pixel])
    view.squares([f"digit · pixel[{r},{c}]" for r, c in zip(rows.tolist(), cols.tolist(), strict=True)],
                 centres, (pixel, pixel), digit_pixel_colors(image.ravel()))

    bars_left = rect.left + side + 1.5 * size
    pitch = (rect.right - bars_left) / 10
    width = 0.7 * pitch
    xs = bars_left + (np.arange(10) + 0.5) * pitch
    bottom = top - side
    # The bars stop a caption line below the image's top: their caption gets a row of its own under
    # the title, which in a narrow view is wider than the image and would run into it.
    height = max(side - BAR_CAPTION_ROW * size, 0.5 * side)
    tracks = np.column_stack([xs, np.full(10, bottom + height / 2)])
    view.squares([f"digit · track[{d}]" for d in range(10)], tracks, (width, height),
                 np.tile(linear_rgba(np.array(TRACK_SRGB)), (10, 1)), y=0.05)
    colours = np.tile(np.array(BAR_SRGB), (10, 1))
    colours[true_class] = TRUE_CLASS_BAR_SRGB
    view.bars([f"digit · probability[{d}]" for d in range(10)], width, height,
              np.column_stack([xs, np.full(10, bottom)]), colours, probabilities)
    digit_scale = min(1.0, 0.8 * pitch / (CHAR_WIDTH * size))  # narrow bars: smaller digits, not touching
    for d, x in enumerate(xs.tolist()):
        view.label(str(d), x, bottom - 1.1 * size, "CENTER", scale=digit_scale, srgb=colours[d])
    # High enough that its "(g)" descenders stay clear of a full bar.
    view.label("P(digit)", bars_left, bottom + height + 0.45 * size, scale=0.8)
    view.grow(np.array([bars_left, -0.05, bottom]), np.array([rect.right, 0.05, top]))


def _table_classes(view: _View, labels: np.ndarray, probabilities: np.ndarray) -> None:
    """A column per probe sample, a row per class: the network's probability of each class as bars,
    the sample's true class green."""
    if probabilities.ndim != 3 or labels.shape != (probabilities.shape[1],):
        raise ValueError(f"add_task_view: table/labels {labels.shape} and table/probabilities "
                         f"{probabilities.shape} must be (P,) and (records, P, classes)")
    samples, classes = probabilities.shape[1:]
    colours = np.tile(np.array(BAR_SRGB), (classes, samples, 1))
    known = labels >= 0  # a recorded probe without its label (-1) has no true class to mark
    colours[labels[known].astype(np.int64), np.arange(samples)[known]] = TRUE_CLASS_BAR_SRGB
    rows = [class_name(view.class_names, c) for c in range(classes)]
    title = f"P(class) for {samples} samples" + (" · green: true class" if known.any() else "")
    if samples == 1:
        title = "P(class) for the probe" + (" · green: true class" if known.any() else "")
    _bar_rows(view, title, rows, _sample_names(samples),
              probabilities.transpose(0, 2, 1), colours)


def _table_values(view: _View, targets: np.ndarray, predictions: np.ndarray, value_range: np.ndarray) -> None:
    """A column per probe sample: its true value over the network's, as bars on the targets' scale."""
    if predictions.ndim != 2 or targets.shape != (predictions.shape[1],) or value_range.shape != (2,):
        raise ValueError(f"add_task_view: table/targets {targets.shape}, table/predictions {predictions.shape} "
                         f"and table/range {value_range.shape} must be (P,), (records, P) and (2,)")
    low, high = (float(v) for v in value_range)
    span = high - low if high > low else 1.0

    def height(values: np.ndarray) -> np.ndarray:  # the lowest target still gets a sliver of a bar
        return np.clip(0.05 + 0.95 * (values - low) / span, 0.0, 1.0)

    heights = np.stack([np.broadcast_to(height(targets), predictions.shape), height(predictions)], axis=1)
    colours = np.stack([np.tile(TRUE_CLASS_BAR_SRGB, (len(targets), 1)), np.tile(BAR_SRGB, (len(targets), 1))])
    _bar_rows(view, f"{len(targets)} samples · true value and the network's", ["target", "network"],
              _sample_names(len(targets)), heights, colours)


def _sample_names(count: int) -> list[str]:
    return [f"#{i + 1}" for i in range(count)]


def _bar_rows(view: _View, title: str, rows: list[str], columns: list[str], heights: np.ndarray,
              colours: np.ndarray) -> None:
    """A grid of bars, one row per name in ``rows`` and one column per name in ``columns``, their
    heights (records, rows, columns) in [0, 1] keyed, on dark tracks; ``colours`` (rows, columns, 3) sRGB."""
    rect, size = view.rect, view.size
    count, width = len(rows), len(columns)
    view.label(title, rect.left, rect.top - size)
    header_z = rect.top - 2.3 * size
    names_width = max(text_width(name, 0.8 * size) for name in rows) + 0.6 * size
    bars_left = rect.left + names_width
    pitch_x = (rect.right - bars_left) / width
    header_scale = min(0.8, 0.95 * pitch_x / max(text_width(name, size) for name in columns))
    xs = bars_left + (np.arange(width) + 0.5) * pitch_x
    for x, name in zip(xs.tolist(), columns, strict=True):
        view.label(name, x, header_z, "CENTER", scale=header_scale)
    top = header_z - 0.4 * size
    pitch_z = (top - rect.bottom) / count
    bar_width, bar_height = 0.7 * pitch_x, 0.8 * pitch_z
    bottoms = top - (np.arange(count) + 1) * pitch_z + 0.1 * pitch_z
    for name, bottom in zip(rows, bottoms.tolist(), strict=True):
        view.label(name, rect.left, bottom + 0.3 * pitch_z, scale=0.8)
    grid_x, grid_z = np.meshgrid(xs, bottoms)
    view.squares([f"table · track[{r},{c}]" for r in range(count) for c in range(width)],
                 np.column_stack([grid_x.ravel(), grid_z.ravel() + bar_height / 2]), (bar_width, bar_height),
                 np.tile(linear_rgba(np.array(TRACK_SRGB)), (count * width, 1)), y=0.05)
    # As for the digit's bars: the mesh is a full-height bar with its origin at its foot, scaled in z.
    view.bars([f"table · bar[{r},{c}]" for r in range(count) for c in range(width)], bar_width, bar_height,
              np.column_stack([grid_x.ravel(), grid_z.ravel()]), colours.reshape(-1, 3),
              heights.reshape(len(heights), -1))
    view.grow(np.array([bars_left, -0.05, float(bottoms.min())]), np.array([rect.right, 0.05, rect.top]))


SEQUENCE_TITLE = "probe sequence"
SEQUENCE_CAPTION = "out: P(token) at each position"
SEQUENCE_CAPTION_SCALE = 0.8


def sequence_text_width(text_size: float) -> float:
    """The width the sequence view's title and caption take at ``text_size``: the least the view
    should be given, or they run into what is beside it."""
    return max(text_width(SEQUENCE_TITLE, text_size), text_width(SEQUENCE_CAPTION, SEQUENCE_CAPTION_SCALE * text_size))


def _sequence(view: _View, inputs: np.ndarray, targets: np.ndarray, tokens: np.ndarray,
              probabilities: np.ndarray) -> None:
    """The probe sequence's tokens in and the target's, then a tile per (token, position) keyed by
    the network's probability of that token there: bright where it is sure, the target's tiles green."""
    length, vocab = len(inputs), len(tokens)
    if targets.shape != (length,) or probabilities.ndim != 3 or probabilities.shape[1:] != (length, vocab):
        raise ValueError(f"add_task_view: sequence/input {inputs.shape}, sequence/target {targets.shape} and "
                         f"sequence/probabilities {probabilities.shape} must be (L,), (L,) and (records, L, V) "
                         f"with V = {vocab} tokens")
    rect, size = view.rect, view.size
    names = [str(t) for t in tokens.tolist()]
    label_width = max(text_width(n, 1.5 * size) for n in [*names, "target"]) + 0.6 * size  # the largest labels
    # A narrow view (the band's share beside the attention maps, large text) keeps most of its width
    # for the cells: wider labels would leave none, and a negative cell would draw the grid upwards.
    label_width = min(label_width, 0.3 * rect.width)
    rows = vocab + 2.6  # in, target, a gap, then a row per token
    cell = min((rect.width - label_width) / length, (rect.height - 2.9 * size) / rows)  # title, caption
    text_scale = min(0.45 * cell, 1.5 * size) / size  # tokens as large as their cells allow
    left = rect.left + label_width
    xs = left + (np.arange(length) + 0.5) * cell
    top = rect.top - 1.6 * size
    view.label(SEQUENCE_TITLE, rect.left, rect.top - size)
    shown = [("in", inputs), ("target", targets)]
    for row, (title, ids) in enumerate(shown):
        z = top - (row + 0.5) * cell
        view.label(title, rect.left, z - 0.3 * text_scale * size, scale=text_scale)
        view.squares([f"sequence · {title}[{i}]" for i in range(length)], np.column_stack([xs, np.full(length, z)]),
                     (0.92 * cell, 0.92 * cell), np.tile(linear_rgba(np.array(SEQUENCE_CELL_SRGB)), (length, 1)),
                     y=0.05)
        for x, token in zip(xs.tolist(), ids.tolist(), strict=True):
            text = names[token] if 0 <= token < vocab else "·"  # a position without a target
            view.label(text, x, z - 0.3 * text_scale * size, "CENTER", scale=text_scale)
    grid_top = top - 2.6 * cell
    token_row, position = np.divmod(np.arange(vocab * length), length)
    centres = np.column_stack([xs[position], grid_top - (token_row + 0.5) * cell])
    brightness = np.clip(probabilities, 0.0, 1.0).transpose(0, 2, 1).reshape(len(probabilities), -1)[..., None]
    hue = np.tile(np.array(BAR_SRGB), (vocab * length, 1))
    hit = targets[position] == token_row
    hue[hit] = TRUE_CLASS_BAR_SRGB
    colours = linear_rgba(TRACK_SRGB + brightness * (hue - np.array(TRACK_SRGB)))
    view.squares([f"sequence · out[{t},{p}]" for t, p in zip(token_row.tolist(), position.tolist(), strict=True)],
                 centres, (0.92 * cell, 0.92 * cell), colours[0], colours if len(colours) > 1 else None)
    for t, name in enumerate(names):
        view.label(name, left - 0.3 * size, grid_top - (t + 0.75) * cell, "RIGHT", scale=text_scale)
    view.label("out", rect.left, grid_top - 0.75 * cell, scale=text_scale)
    view.label(SEQUENCE_CAPTION, rect.left, grid_top - vocab * cell - 1.1 * size, scale=SEQUENCE_CAPTION_SCALE)


# Each kind of task's keys and the function that draws its view, in the order they are tried.
_DRAW = {_RGB_KEYS: _rgb_swatches, _BOUNDARY_KEYS: _decision_boundary, _DIGIT_KEYS: _digit,
         _TABLE_CLASS_KEYS: _table_classes, _TABLE_VALUE_KEYS: _table_values, _SEQUENCE_KEYS: _sequence}
