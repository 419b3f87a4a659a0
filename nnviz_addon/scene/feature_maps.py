"""Feature maps in the scene: the probe image and each image layer's maps as keyed cubes.

Where they go, their labels and their colour scale are :mod:`..picture.features`' (pure numpy); this
writes them with the cube writer the build uses: one object per cell keyed per record (objects, the
cells keep ``nnviz_feature`` and ``nnviz_index`` rather than ``nnviz_param``, so the panel never
offers them as weights to edit), or one Geometry Nodes object per group (instanced).
"""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from ..picture import features
from ..picture.cubes import TensorCubes
from ..picture.shapes import Label
from . import instanced, objects

FEATURE_PROPERTY = "nnviz_feature"  # on an objects-writer cell: its group's History key


def add_feature_maps(parent: bpy.types.Collection, labels: Sequence[Label], cells: Sequence[TensorCubes],
                     record_frames: np.ndarray, writer: str, frames_per_record: int) -> None:
    """Write the feature-map groups' ``cells`` (one plan per group) and their ``labels`` in a
    collection ``nnviz · feature maps``, keyed at ``record_frames``."""
    if not cells:
        return
    collection = objects.new_collection("nnviz · feature maps", parent)
    for label in labels:
        name = "feature maps · caption" if label.text == features.CAPTION else label.text.splitlines()[0]
        objects.add_label(label, f"{name} · label", collection)
    mesh = objects.shared_cube_mesh()
    for tensor in cells:
        if writer == "instanced":
            instanced.add_tensor(tensor, collection, int(record_frames[0]), frames_per_record)
            continue
        keyed = len(tensor.values) > 1
        actions = objects.cube_actions(tensor.block) if keyed else []
        made = objects.add_cubes(tensor.block, mesh, collection, tensor.values[0], tensor.rgba[0], tag=FEATURE_PROPERTY)
        if keyed:
            objects.key_cubes(made, actions, record_frames, tensor.values, tensor.rgba)
