"""The task view (see :mod:`..picture.task_views`) written into Blender: its plan's patches, data
points, bars and labels created and keyed, nothing computed here."""

from __future__ import annotations

import bpy
import numpy as np

from ..picture import task_views as picture
from ..picture.colormap import linear_rgba
from . import objects


def add_task_view(parent: bpy.types.Collection, view: picture.TaskViewPlan) -> None:
    """Write the task ``view`` in a collection ``nnviz · task`` under ``parent``, keyed at its frames."""
    write_items(view.items, objects.new_collection("nnviz · task", parent), view.frames)


def write_items(items: list[picture.Text | picture.Patches | picture.Bars], collection: bpy.types.Collection,
                frames: np.ndarray) -> None:
    """Create a plan's labels, patches and bars in ``collection``, keyed at ``frames``."""
    for item in items:
        if isinstance(item, picture.Text):
            _write_text(item, collection)
        elif isinstance(item, picture.Patches):
            _write_patches(item, collection, frames)
        else:
            _write_bars(item, collection, frames)


def _write_text(text: picture.Text, collection: bpy.types.Collection) -> None:
    obj = objects.add_label(text.label, text.name, collection)
    if text.srgb is not None:
        obj.color = linear_rgba(np.array(text.srgb))


def _write_patches(patches: picture.Patches, collection: bpy.types.Collection, frames: np.ndarray) -> None:
    mesh = objects.square_mesh() if patches.mesh == "square" else objects.sphere_mesh()
    keyed = patches.keyed_rgba is not None
    made, actions = objects.new_objects(patches.names, mesh, collection, patches.positions, patches.rgba,
                                        keyed=keyed)
    for i, obj in enumerate(made):
        obj.scale = patches.scale
        if keyed:
            objects.key(obj, actions[i], frames, {("color", c): patches.keyed_rgba[:, i, c] for c in range(3)})
    if patches.labels is not None:
        for obj, label in zip(made, patches.labels.tolist(), strict=True):
            obj["nnviz_label"] = int(label)


def _write_bars(bars: picture.Bars, collection: bpy.types.Collection, frames: np.ndarray) -> None:
    """A bar's mesh is its full height with the origin at its foot, so its z scale *is* the value."""
    made, actions = objects.new_objects(bars.names, _bar_mesh(bars.width, bars.height), collection,
                                        bars.positions, bars.rgba, keyed=len(bars.heights) > 1)
    for i, obj in enumerate(made):
        obj.scale = (1.0, 1.0, float(bars.heights[0, i]))
        if actions:
            objects.key(obj, actions[i], frames, {("scale", 2): bars.heights[:, i]})


def _bar_mesh(width: float, height: float) -> bpy.types.Mesh:
    half = width / 2
    vertices = np.array([(-half, 0, 0), (half, 0, 0), (half, 0, height), (-half, 0, height)])
    mesh = objects.tagged(bpy.data.meshes.new("nnviz · probability bar"))
    mesh.from_pydata(vertices.tolist(), [], [(0, 1, 2, 3)])
    mesh.materials.append(objects.object_color_material())
    return mesh
