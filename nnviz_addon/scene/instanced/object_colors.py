"""A Blender 5.0 workaround for instanced scenes: every other mesh's object colour carried into
the ``nn_color`` attribute.

Workbench shows the instanced cubes' colours only when the scene shows attribute colours
(:func:`..stage.set_up`). Blender 5.0's Workbench then draws a mesh without a colour attribute in
its material's colour (4.2 and 4.5 fall back to the object's colour): there, every other nnviz mesh
carries its (keyed) object colour into ``nn_color`` through a modifier whose colour input is driven
by the object's own ``color`` (plain AVERAGE drivers, no Python). Text keeps the material's
viewport colour, a light grey.
"""

from __future__ import annotations

import bpy

from .node_tree import TreeBuilder, input_identifier, shared_tree
from .squares import COLOR_ATTRIBUTE

OBJECT_COLOR_TREE = "nnviz · object colour attribute"
OBJECT_COLOR_MODIFIER = "nnviz · object colour"
NEEDS_OBJECT_COLOR_ATTRIBUTE = bpy.app.version >= (5, 0)


def carry_object_colors(objects: list[bpy.types.Object]) -> None:
    """Show each of the mesh ``objects``' ``color`` as its ``nn_color`` attribute (on 5.0+ only)."""
    if not NEEDS_OBJECT_COLOR_ATTRIBUTE:
        return
    tree = shared_tree(OBJECT_COLOR_TREE, _build_object_color_tree)
    key = input_identifier(tree, "Color")
    for mesh in {obj.data for obj in objects}:
        if COLOR_ATTRIBUTE not in mesh.attributes:
            mesh.color_attributes.active_color = mesh.color_attributes.new(COLOR_ATTRIBUTE, "FLOAT_COLOR", "POINT")
    for obj in objects:
        modifier = obj.modifiers.new(OBJECT_COLOR_MODIFIER, "NODES")
        modifier.node_group = tree
        for channel, curve in enumerate(obj.driver_add(f'modifiers["{OBJECT_COLOR_MODIFIER}"]["{key}"]')[:3]):
            driver = curve.driver
            driver.type = "AVERAGE"
            variable = driver.variables.new()
            variable.type = "SINGLE_PROP"
            variable.targets[0].id = obj
            variable.targets[0].data_path = f"color[{channel}]"


def _build_object_color_tree(tree: bpy.types.GeometryNodeTree) -> None:
    """Geometry in, its ``nn_color`` (on the points) set to the Color input, geometry out."""
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Color", in_out="INPUT", socket_type="NodeSocketColor")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    builder = TreeBuilder(tree)
    group_in = builder.node("NodeGroupInput")
    group_out = builder.node("NodeGroupOutput")
    stored = builder.store(group_in.outputs[0], COLOR_ATTRIBUTE, group_in.outputs[1], "POINT")
    builder.link(stored, group_out, "Geometry")
