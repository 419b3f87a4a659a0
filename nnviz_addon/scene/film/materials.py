"""The film's materials: the lit, glowing blocks, the floor and backdrop's surface, the HUD band's
unlit one. Each is made once per build and found again by its role."""

from __future__ import annotations

import bpy

from .. import instanced, objects

FILM_MATERIAL = "nnviz · film blocks"
FILM_ATTRIBUTE_MATERIAL = "nnviz · film blocks · attribute colour"  # the instanced blocks': nn_color
SURFACE_MATERIAL = "nnviz · film surface"
HUD_BAND_MATERIAL = "nnviz · film HUD band"


def _role_material(role: str) -> tuple[bpy.types.Material, bool]:
    """nnviz's material of this role, and whether it was made just now (its nodes still to build)."""
    for material in bpy.data.materials:
        if material.get(objects.TAG) and material.get(objects.ROLE) == role:
            return material, False
    material = objects.tagged(bpy.data.materials.new(role))
    material[objects.ROLE] = role
    if material.node_tree is None:  # 4.2: a new material has no nodes until asked
        material.use_nodes = True
    return material, True


def block_material(attribute_color: bool = False) -> bpy.types.Material:
    """Cubes and neurons in the film: a lit surface of the object's colour (with ``attribute_color``
    the mesh's ``nn_color``, the instanced blocks') that also glows with it, the more the further
    the colour is from the map's white zero (so strong weights glow)."""
    material, made = _role_material(FILM_ATTRIBUTE_MATERIAL if attribute_color else FILM_MATERIAL)
    if not made:
        return material
    tree = material.node_tree
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    if attribute_color:
        info = nodes.new("ShaderNodeAttribute")
        info.attribute_type = "GEOMETRY"
        info.attribute_name = instanced.COLOR_ATTRIBUTE
    else:
        info = nodes.new("ShaderNodeObjectInfo")
    separate = nodes.new("ShaderNodeSeparateColor")
    low = nodes.new("ShaderNodeMath")
    low.operation = "MINIMUM"
    lowest = nodes.new("ShaderNodeMath")
    lowest.operation = "MINIMUM"
    glow = nodes.new("ShaderNodeMapRange")  # min(r, g, b): 1 at white, 0 at a saturated colour
    glow.inputs["From Min"].default_value, glow.inputs["From Max"].default_value = 1.0, 0.0
    glow.inputs["To Min"].default_value, glow.inputs["To Max"].default_value = 0.05, 0.8
    surface = nodes.new("ShaderNodeBsdfPrincipled")
    surface.inputs["Roughness"].default_value = 0.38
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Color"], separate.inputs[0])
    links.new(separate.outputs[0], low.inputs[0])
    links.new(separate.outputs[1], low.inputs[1])
    links.new(low.outputs[0], lowest.inputs[0])
    links.new(separate.outputs[2], lowest.inputs[1])
    links.new(lowest.outputs[0], glow.inputs["Value"])
    links.new(info.outputs["Color"], surface.inputs["Base Color"])
    emission_color = "Emission Color" if "Emission Color" in surface.inputs else "Emission"
    links.new(info.outputs["Color"], surface.inputs[emission_color])
    links.new(glow.outputs[0], surface.inputs["Emission Strength"])
    links.new(surface.outputs[0], output.inputs["Surface"])
    material.diffuse_color = (0.8, 0.8, 0.8, 1.0)
    return material


def surface_material() -> bpy.types.Material:
    """The floor and backdrop: a rough surface of the object's colour."""
    return _object_color_shader(SURFACE_MATERIAL, "ShaderNodeBsdfPrincipled", "Base Color", Roughness=0.7)


def unlit_material() -> bpy.types.Material:
    """The HUD band's: its object colour as emission, so no light or bloom changes it."""
    return _object_color_shader(HUD_BAND_MATERIAL, "ShaderNodeEmission", "Color")


def _object_color_shader(role: str, shader: str, color_input: str, **inputs: float) -> bpy.types.Material:
    """nnviz's material of ``role``: the object's colour into ``shader``'s ``color_input`` (its
    other ``inputs`` set), made once."""
    material, made = _role_material(role)
    if not made:
        return material
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    info = nodes.new("ShaderNodeObjectInfo")
    surface = nodes.new(shader)
    for name, value in inputs.items():
        surface.inputs[name].default_value = value
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Color"], surface.inputs[color_input])
    links.new(surface.outputs[0], output.inputs["Surface"])
    return material
