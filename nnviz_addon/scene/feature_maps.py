"""Feature maps in the scene: the probe image and each image layer's maps as keyed cubes.

Where they go, their labels and their colour scale are :mod:`..picture.features`' (pure numpy); this
writes them with the cube writer the build uses: one object per cell keyed per record (objects, the
cells keep ``nnviz_feature`` and ``nnviz_index`` rather than ``nnviz_param``, so the panel never
offers them as weights to edit), or one Geometry Nodes object per group (instanced).
"""

from __future__ import annotations

import bpy
import numpy as np

from ..history import History
from ..picture import cubes as cube_plan
from ..picture import features
from ..picture.layout import Layout
from . import instanced, objects

FEATURE_PROPERTY = "nnviz_feature"  # on an objects-writer cell: its group's History key


def add_feature_maps(parent: bpy.types.Collection, history: History, layout: Layout, record_frames: np.ndarray,
                     writer: str, frames_per_record: int) -> None:
    """Draw ``layout``'s feature-map groups of ``history`` in a collection ``nnviz · feature maps``."""
    if not layout.feature_blocks:
        return
    record_frames = objects.record_frames_of(history, record_frames, "add_feature_maps")
    collection = objects.new_collection("nnviz · feature maps", parent)
    for label in layout.feature_labels:
        name = "feature maps · caption" if label.text == features.CAPTION else label.text.splitlines()[0]
        objects.add_label(label, f"{name} · label", collection)
    mesh = objects.shared_cube_mesh()
    for block in layout.feature_blocks:
        values = features.values_of(history, block)
        tensor = cube_plan.TensorCubes(block, values, features.color_scale(values))
        if writer == "instanced":
            instanced.add_tensor(tensor, collection, int(record_frames[0]), frames_per_record)
            continue
        keyed = len(values) > 1
        actions = objects.cube_actions(block) if keyed else []
        cells = objects.add_cubes(block, mesh, collection, values[0], tensor.rgba[0], tag=FEATURE_PROPERTY)
        if keyed:
            objects.key_cubes(cells, actions, record_frames, values, tensor.rgba)
