"""Neurons: a sphere per neuron between the weight grids, coloured by its activation for the probe input.

Where each neuron sits and its colour at every record is :mod:`..picture.neurons`' plan; this module
only writes it. With the objects writer every neuron is a keyed sphere object (``nnviz_neuron``,
``nnviz_index``); with the instanced writer each column is one Geometry Nodes object
(:func:`.instanced.add_tensor`, its History key ``probe/input`` or ``activation/<layer>``), so a
784-input column costs one object instead of 784. Its neurons are the writer's squares, as wide as
the spheres (``NEURON_RADIUS`` is half ``CUBE_SIZE``): the object is scaled by the column's spacing,
which shrinks the squares with it.
"""

from __future__ import annotations

import bpy

from ..picture.neurons import NeuronsPlan
from . import instanced, objects


def add_neurons(parent: bpy.types.Collection, picture: NeuronsPlan, writer: str = "objects",
                frames_per_record: int = 1) -> None:
    """Write ``picture`` (the probe input's and every drawn layer's activations) in a collection
    ``nnviz · neurons`` under ``parent``, keyed at its frames: keyed spheres with the ``"objects"``
    writer, one instanced object per column with ``"instanced"`` (``frames_per_record`` apart, as
    the cubes)."""
    record_frames = picture.frames
    collection = objects.new_collection("nnviz · neurons", parent)
    mesh = objects.sphere_mesh() if writer == "objects" else None
    for column in picture.columns:
        values, rgba, prefix = column.values, column.rgba, column.prefix
        if writer == "instanced":
            drawn = instanced.add_tensor(column.instanced_cubes(), collection, int(record_frames[0]),
                                         frames_per_record)
            drawn.scale = (column.scale,) * 3
            continue
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
