"""A layout's parts as boxes in the picture plane, for the checks a viewer would make without
Blender: is every group inside the frame, does any overlap another, is every label large enough."""

from __future__ import annotations

import numpy as np

from nnviz_addon.picture.features import LINE_HEIGHT
from nnviz_addon.picture.layout import Layout
from nnviz_addon.picture.shapes import Label, lines_width
from nnviz_addon.picture.view_layout import CAPTION_SCALE

Box = tuple[float, float, float, float]  # left, bottom, right, top


def label_box(label: Label) -> Box:
    """(left, bottom, right, top) of a label's text, as far as its alignment puts it: its first line's
    baseline at its position, each further line ``LINE_HEIGHT`` lower."""
    x, _, z = label.position
    width = lines_width(label.text, label.size)
    left = {"LEFT": x, "CENTER": x - width / 2, "RIGHT": x - width}[label.align]
    below = (0.3 + LINE_HEIGHT * label.text.count("\n")) * label.size
    return left, z - below, left + width, z + label.size


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] - 1e-6 and b[0] < a[2] - 1e-6 and a[1] < b[3] - 1e-6 and b[1] < a[3] - 1e-6


def inside(box: Box, frame: Box) -> bool:
    return (frame[0] - 1e-6 <= box[0] and box[2] <= frame[2] + 1e-6 and frame[1] - 1e-6 <= box[1]
            and box[3] <= frame[3] + 1e-6)


def group_boxes(layout: Layout) -> dict[str, Box]:
    """Each drawn layer or group: the box of its cubes and its label together."""
    groups = {}
    for name, label in layout.layer_labels.items():
        cells = np.concatenate([b.positions for b in layout.blocks if b.layer == name])
        cubes = (cells[:, 0].min() - 0.5, cells[:, 2].min() - 0.5, cells[:, 0].max() + 0.5, cells[:, 2].max() + 0.5)
        text = label_box(label) if label.text else cubes
        groups[name] = (min(cubes[0], text[0]), min(cubes[1], text[1]), max(cubes[2], text[2]),
                        max(cubes[3], text[3]))
    return groups


def text_heights(layout: Layout) -> dict[str, float]:
    """Every line of text the layout sets (its text → height): layer and part labels, feature-map
    labels, the legends' labels and captions (the colour legend's numbers are one size) and the
    neuron columns' caption. Labels left without text are not drawn and not listed."""
    labels = [*layout.layer_labels.values(), *layout.part_labels, *layout.feature_labels]
    if layout.size_legend is not None:
        labels += [*layout.size_legend.labels, layout.size_legend.caption]
    heights = {label.text: label.size for label in labels if label.text}
    heights["colour legend"] = layout.legend.text_size
    heights["neuron caption"] = CAPTION_SCALE * layout.text_size
    return heights
