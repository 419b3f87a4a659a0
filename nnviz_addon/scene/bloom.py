"""The film's bloom: the compositor's Glare node, so the strongest (most glowing) blocks bleed light.

EEVEE Next (4.2+) dropped its own bloom switch; the compositor's Glare node in its Bloom mode is
Blender's route. It blooms the emission pass (EEVEE and Cycles) and adds it to the picture;
Workbench renders skip the compositor (:func:`follow_engine`, called whenever the engine is set).
The tree is scene data, so a saved ``.blend`` renders with it on a Blender without nnviz.
Blender 5.0 keeps the compositor in a node group the scene points to
(``scene.compositing_node_group``, the group's output is the picture); 4.2 and 4.5 keep it in the
scene's own ``node_tree`` behind ``use_nodes``, with a Composite node as the output.

Only the film has it: :func:`remove` puts the diagram's straight-through pipeline back.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import objects

TREE_NAME = "nnviz · film bloom"
OWNED = "nnviz_bloom"  # on a 4.x scene: its node tree is the bloom nnviz built
# The bloom is of the emission pass, not the picture: a lit white block (a zero weight) is as bright
# as a glowing red one, but only the strong weights emit much (see film.materials.block_material).
THRESHOLD = 0.3
STRENGTH = 1.5  # 4.5+; 4.2 has no strength, its glare-only mix is 1
SIZE = 7  # 4.2's size, 2^n pixels; 4.5+ takes a fraction of the frame
SIZE_FRACTION = 0.5


def _new_tree(scene: bpy.types.Scene) -> tuple[bpy.types.NodeTree, Any]:
    """An empty compositor tree for ``scene`` and the node its picture goes out through."""
    if hasattr(scene, "compositing_node_group"):  # 5.0+
        tree = objects.tagged(bpy.data.node_groups.new(TREE_NAME, "CompositorNodeTree"))
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        scene.compositing_node_group = tree
        return tree, tree.nodes.new("NodeGroupOutput")
    scene.use_nodes = True
    scene[OWNED] = True
    tree = scene.node_tree
    tree.nodes.clear()
    return tree, tree.nodes.new("CompositorNodeComposite")


def _add_node(tree: bpy.types.NodeTree) -> tuple[Any, Any, Any, Any]:
    """A node adding two colours: (node, first input, second input, output)."""
    if hasattr(bpy.types, "CompositorNodeMixRGB"):  # 4.x
        mix = tree.nodes.new("CompositorNodeMixRGB")
        mix.blend_type = "ADD"
        return mix, mix.inputs[1], mix.inputs[2], mix.outputs[0]
    mix = tree.nodes.new("ShaderNodeMix")  # 5.0 compositor: the shader editor's Mix
    mix.data_type, mix.blend_type = "RGBA", "ADD"
    sockets = {s.identifier: s for s in (*mix.inputs, *mix.outputs)}  # its names repeat per data type
    sockets["Factor_Float"].default_value = 1.0
    return mix, sockets["A_Color"], sockets["B_Color"], sockets["Result_Color"]


def add(scene: bpy.types.Scene) -> None:
    """The picture plus the bloom of its emission pass, and compositing on.

    Workbench has no emission pass, so there the sum is the picture itself."""
    for layer in scene.view_layers:
        layer.use_pass_emit = True
    tree, output = _new_tree(scene)
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    glare = tree.nodes.new("CompositorNodeGlare")
    if "Type" in glare.inputs:  # 5.0: the type and quality are menu sockets
        glare.inputs["Type"].default_value = "Bloom"
        glare.inputs["Quality"].default_value = "Medium"
    else:
        glare.glare_type = "BLOOM"
        glare.quality = "MEDIUM"
    if "Threshold" in glare.inputs:  # 4.5+: sockets, and a glare-only output
        glare.inputs["Threshold"].default_value = THRESHOLD
        glare.inputs["Strength"].default_value = STRENGTH
        glare.inputs["Size"].default_value = SIZE_FRACTION
        only_glare = glare.outputs["Glare"]
    else:
        glare.threshold, glare.mix, glare.size = THRESHOLD, 1.0, SIZE
        only_glare = glare.outputs["Image"]
    _, picture, light, result = _add_node(tree)
    emission = next(o for o in layers.outputs if o.name in ("Emission", "Emit"))
    tree.links.new(layers.outputs["Image"], picture)
    tree.links.new(emission, glare.inputs["Image"])
    tree.links.new(only_glare, light)
    tree.links.new(result, output.inputs[0])
    follow_engine(scene)


def present(scene: bpy.types.Scene) -> bool:
    """Whether ``scene`` composites through the film's bloom."""
    if hasattr(scene, "compositing_node_group"):
        group = scene.compositing_node_group
        return group is not None and group.name == TREE_NAME and bool(group.get(objects.TAG))
    return bool(scene.get(OWNED))


def follow_engine(scene: bpy.types.Scene) -> None:
    """Composite the bloom in EEVEE and Cycles only: Workbench has no emission pass, and 4.2 then
    feeds the Glare node something else (a white-washed frame), so its picture goes out as rendered."""
    if present(scene):
        scene.render.use_compositing = scene.render.engine != "BLENDER_WORKBENCH"


def remove(scene: bpy.types.Scene) -> None:
    """Undo :func:`add` on ``scene`` (5.0's tagged group goes with :func:`.objects.remove_all`)."""
    if scene.get(OWNED):
        scene.node_tree.nodes.clear()
        scene.use_nodes = False
        del scene[OWNED]
