"""Token names beside a token embedding's rows: the vocab × d grid reads as one learned vector
per token (pure numpy, no bpy; ``scene.attention`` writes the labels).

An ``Embedding`` layer's weight is drawn as a matrix, a row per token (:mod:`.layout`); each row
gets its token's name (``sequence/tokens``, else its id) right-aligned just left of the grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..history import History, keys
from .shapes import Block, Bounds, Label, text_width

ROW_LABEL_SIZE = 0.8  # of a grid cell: the name as tall as its row leaves room for


def row_labels(history: History, blocks: Sequence[Block]) -> list[Label]:
    """A label per row of every Embedding weight among ``blocks``."""
    names = history.static.get(keys.SEQUENCE_TOKENS)
    weights = {spec.weight for spec in history.structure if spec.kind == "Embedding"}
    labels = []
    for block in blocks:
        if block.key not in weights or len(block.shape) != 2:
            continue
        left = float(block.positions[:, 0].min()) - 0.5
        for token in range(block.shape[0]):
            z = float(block.positions[block.indices[:, 0] == token, 2].max())
            text = str(names[token]) if names is not None and token < len(names) else str(token)
            labels.append(Label(text, (left - 0.3, 0.0, z - 0.35 * ROW_LABEL_SIZE), ROW_LABEL_SIZE, "RIGHT"))
    return labels


def bounds(labels: Sequence[Label]) -> Bounds | None:
    """The box the labels take, or None for none."""
    if not labels:
        return None
    lefts = [label.position[0] - text_width(label.text, label.size) for label in labels]
    zs = np.array([label.position[2] for label in labels])
    return ((min(lefts), 0.0, float(zs.min()) - 0.3), (max(label.position[0] for label in labels), 0.0,
                                                          float(zs.max()) + ROW_LABEL_SIZE))
