"""Neurons: a sphere per neuron between the weight grids, coloured by its activation for the probe input.

Where each sphere sits and its colour at every record is :mod:`..picture.neurons`' plan; this module
only creates the spheres and keys them.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..history import History
from ..picture import neurons as neuron_plan
from ..picture.neurons import BOUNDED_ACTIVATIONS, activation_scale
from ..view_layout import Bounds, NeuronPlacement
from . import objects

# The plan's names stay importable from here, as this module has always offered them.
__all__ = ["BOUNDED_ACTIVATIONS", "activation_scale", "add_neurons"]


def add_neurons(parent: bpy.types.Collection, history: History, record_frames: np.ndarray,
                placement: NeuronPlacement) -> Bounds | None:
    """Draw the probe input and every drawn layer's recorded activations as spheres in a collection
    ``nnviz · neurons`` under ``parent``; key them at ``record_frames`` (one frame per record).

    Returns the world-space box the spheres fill, or None when the history has no probe data.
    """
    record_frames = objects.record_frames_of(history, record_frames, "add_neurons")
    picture = neuron_plan.plan(history, record_frames, placement)
    if picture is None:
        return None
    collection = objects.new_collection("nnviz · neurons", parent)
    mesh = objects.sphere_mesh()
    for column in picture.columns:
        values, rgba, prefix = column.values, column.rgba, column.prefix
        names = [f"{prefix} · neuron[{i}]" for i in range(len(column.positions))]
        keyed = len(values) > 1
        spheres, actions = objects.new_objects(names, mesh, collection, column.positions, rgba[0], keyed=keyed)
        for i, sphere in enumerate(spheres):
            sphere.scale = (column.scale,) * 3
            sphere["nnviz_neuron"] = prefix
            sphere["nnviz_index"] = i
            sphere["nnviz_value"] = float(values[0, i])
            if keyed:
                channels = {("color", c): rgba[:, i, c] for c in range(3)}
                channels['["nnviz_value"]', 0] = values[:, i]
                objects.key(sphere, actions[i], picture.frames, channels)
    if picture.caption is not None:
        objects.add_label(picture.caption, "neurons · caption", collection)
    return picture.bounds
