"""The overlay's text as evaluated geometry, and a literal reference text to compare it with (needs bpy)."""

from __future__ import annotations

import bpy
import numpy as np

from nnviz_addon.picture.layout import LINE_SPACING
from nnviz_addon.scene import overlay


def mesh_points(obj: bpy.types.Object) -> np.ndarray:
    """The evaluated mesh's drawn vertices (those of its faces: the counter's own loose vertex is
    never drawn), sorted so two meshes of the same text compare equal."""
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        co = np.zeros(3 * len(mesh.vertices))
        mesh.vertices.foreach_get("co", co)
        used = np.zeros(len(mesh.loops), dtype=np.int64)
        mesh.loops.foreach_get("vertex_index", used)
    finally:
        evaluated.to_mesh_clear()
    co = co.reshape(-1, 3)[np.unique(used)].round(5)
    return co[np.lexsort(co.T[::-1])]


def reference_text(text: str, size: float) -> bpy.types.Object:
    """The same font, size and line spacing as the counter, but the text given literally."""
    tree = bpy.data.node_groups.new("reference", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    literal = tree.nodes.new("FunctionNodeInputString")
    literal.string = text
    curves = tree.nodes.new("GeometryNodeStringToCurves")
    curves.inputs["Size"].default_value = size
    curves.inputs["Line Spacing"].default_value = LINE_SPACING
    realize = tree.nodes.new("GeometryNodeRealizeInstances")
    fill = tree.nodes.new("GeometryNodeFillCurve")
    output = tree.nodes.new("NodeGroupOutput")
    tree.links.new(literal.outputs[0], curves.inputs["String"])
    tree.links.new(curves.outputs["Curve Instances"], realize.inputs[0])
    tree.links.new(realize.outputs[0], fill.inputs[0])
    tree.links.new(fill.outputs[0], output.inputs[0])
    obj = bpy.data.objects.new("reference", bpy.data.meshes.new("reference"))
    obj.modifiers.new("text", "NODES").node_group = tree
    bpy.context.scene.collection.objects.link(obj)
    return obj


def counter_size() -> float:
    tree = bpy.data.objects[overlay.COUNTER_NAME].modifiers[overlay.COUNTER_NAME].node_group
    return next(n for n in tree.nodes if n.bl_idname == "GeometryNodeStringToCurves").inputs["Size"].default_value
