"""A recorded model's extra marks (bpy): the labels of groups that hold others and of a module's
parts (Q, K, V; gates; free parameters), notes for the frame, and each residual's arc as a thin
tube. Where they go is :mod:`..picture.model_layout`'s plan."""

from __future__ import annotations

import bpy

from ..picture.layout import Layout
from . import objects

SKIP_COLOR = (0.55, 0.75, 1.0, 1.0)  # linear; a pale blue that reads apart from the cubes' map


def skip_name(index: int) -> str:
    """The name of the arc (object and curve) of the layout's skip ``index``."""
    return f"nnviz · skip {index}"


def add_parts(root: bpy.types.Collection, layout: Layout) -> None:
    """The part labels and skip arcs of ``layout`` in a collection ``nnviz · model`` under ``root``."""
    collection = objects.new_collection("nnviz · model", root)
    for i, label in enumerate(layout.part_labels):
        objects.add_label(label, f"nnviz · part {i:03d} · {label.text}"[:60], collection)
    for i, points in enumerate(layout.skips):
        curve = objects.tagged(bpy.data.curves.new(skip_name(i), type="CURVE"))
        curve.dimensions = "3D"
        curve.bevel_depth = 0.08 * layout.text_size
        curve.materials.append(objects.object_color_material())
        spline = curve.splines.new("POLY")
        spline.points.add(len(points) - 1)
        spline.points.foreach_set("co", [c for x, y, z in points.tolist() for c in (x, y, z, 1.0)])
        arc = objects.tagged(bpy.data.objects.new(skip_name(i), curve))
        arc.color = SKIP_COLOR
        collection.objects.link(arc)
