"""The instanced writer's base mesh: one square per cube (4 vertices, 1 face) in the picture's x-z
plane, with an active ``nn_color`` corner colour and a material that emits it.

Workbench shows only the mesh's *active* colour attribute, so the base mesh carries an active
``nn_color`` that the node tree (:mod:`.node_tree`) overwrites. The camera looks at the picture
face on, so a square shows what a cube's front face shows with a sixth of the faces to render.
"""

from __future__ import annotations

import bpy
import numpy as np

from ...picture.shapes import square_centres, square_corners
from ..objects import ROLE, TAG, object_color_material, tagged

MATERIAL_NAME = "nnviz · attribute colour"
COLOR_ATTRIBUTE = "nn_color"  # the mesh's active (corner) colour: what Workbench, Cycles and EEVEE show


def squares_mesh(name: str, centres: np.ndarray) -> bpy.types.Mesh:
    """A mesh of one square per row of ``centres`` (4 vertices and 1 face each, in the picture's
    x-z plane), with the attribute colour material and an active, render ``nn_color``."""
    count = len(centres)
    mesh = tagged(bpy.data.meshes.new(name))
    mesh.vertices.add(count * 4)
    mesh.vertices.foreach_set("co", square_corners(centres).ravel())
    mesh.loops.add(count * 4)
    mesh.loops.foreach_set("vertex_index", np.arange(count * 4, dtype=np.int32))
    mesh.polygons.add(count)
    mesh.polygons.foreach_set("loop_start", np.arange(0, count * 4, 4, dtype=np.int32))
    mesh.update()
    mesh.materials.append(attribute_color_material())
    colors = mesh.color_attributes.new(COLOR_ATTRIBUTE, "FLOAT_COLOR", "CORNER")
    mesh.color_attributes.active_color = colors
    mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index
    return mesh


def resize_squares(mesh: bpy.types.Mesh, sizes: np.ndarray) -> None:
    """Each square of ``mesh`` scaled to ``sizes`` of full size about its centre."""
    corners = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", corners)
    resized = square_corners(square_centres(corners), sizes)  # scaling a square about its centre keeps it
    mesh.vertices.foreach_set("co", resized.astype(np.float32).ravel())


def attribute_color_material() -> bpy.types.Material:
    """Like :func:`..objects.object_color_material`, but emitting the mesh's ``nn_color`` attribute."""
    for material in bpy.data.materials:
        if material.get(TAG) and material.get(ROLE) == MATERIAL_NAME:
            return material
    material = object_color_material().copy()
    material.name = MATERIAL_NAME
    material[ROLE] = MATERIAL_NAME
    nodes = material.node_tree.nodes
    info = next(node for node in nodes if node.bl_idname == "ShaderNodeObjectInfo")
    emission = next(node for node in nodes if node.bl_idname == "ShaderNodeEmission")
    attribute = nodes.new("ShaderNodeAttribute")
    attribute.attribute_type = "GEOMETRY"
    attribute.attribute_name = COLOR_ATTRIBUTE
    attribute.location = info.location
    nodes.remove(info)
    material.node_tree.links.new(attribute.outputs["Color"], emission.inputs["Color"])
    return material
