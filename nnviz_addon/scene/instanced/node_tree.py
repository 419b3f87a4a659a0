"""The instanced writer's Geometry Nodes tree: from a tensor object's per-record face attributes to
the frame's colours and square sizes (and, for the film, block depths).

One shared tree reads the Scene Time, picks the two records around the frame by name and mixes
them linearly the way the objects writer's LINEAR F-Curves do (colours and sizes are mixed, not
values), applies the colour map (a Color Ramp through :func:`...picture.cubes.ramp_positions`),
stores it as the mesh's active (corner) colour ``nn_color`` and scales each square about its centre
by the size rule. Nothing runs in Python at render time, so a saved ``.blend`` renders on a Blender
without nnviz.

Why the tree is shaped as it is: an earlier version instanced a prototype square on one point per
cube and realized the instances; that evaluation cost 40–70 ms per frame for 100k cubes, while
storing a colour and scaling faces of a mesh that is already there costs a fraction of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import bpy

from ...picture import cubes as cube_plan
from ...picture import film as film_plan
from ...picture.shapes import CUBE_SIZE
from ..objects import ROLE, TAG, tagged
from .squares import COLOR_ATTRIBUTE

TREE_NAME = "nnviz · instanced cubes"
BLOCKS_TREE_NAME = "nnviz · instanced film blocks"
VALUE_PREFIX = "v_"  # face attribute v_<r>: record r's value
MAGNITUDE_PREFIX = "m_"  # m_<r>: record r's magnitude, when sizes show one
FLASH_PREFIX = "f_"  # f_<i>: each weight's share of the signal in forward pass i
# Group inputs, in order: (name, socket type, default). Set per tensor object on its modifier.
INPUTS = (
    ("Value Factor", "NodeSocketFloat", 0.0),  # 0.5 / colour scale: value → ramp position - 0.5
    ("Size Factor", "NodeSocketFloat", 0.0),  # 1 / size scale
    ("Smallest Size", "NodeSocketFloat", 1.0),  # magnitude.MIN_SIZE when sizes show magnitudes, else 1
    ("Last Record", "NodeSocketFloat", 0.0),
    ("Frame Start", "NodeSocketFloat", 1.0),
    ("Frames Per Record", "NodeSocketFloat", 1.0),
    ("Eased", "NodeSocketBool", False),  # motion = "smooth": sine ease in and out, as the SMOOTH keys
    ("Dark", "NodeSocketFloat", 0.0),  # 1: the film's unlit neuron colour (DARK) in a forward pass
)
DARK = (0.006, 0.006, 0.007)  # linear; the film's unlit neuron, just off the background
# The film's blocks tree takes these too: the depth is film_plan.relief of |v_r| (or |m_r| with
# Depth From Magnitude) × Depth Factor (1 / the scale the objects writer's depths use).
# A forward pass's weight flash grows it by (1 + FLASH_GAIN × Flash × f_<Flash Pass>), the share of
# the signal each weight carried in that pass (film_plan.flash_depths; 0 by default: no flash).
BLOCK_INPUTS = (
    ("Depth Factor", "NodeSocketFloat", 0.0),
    ("Depth From Magnitude", "NodeSocketBool", False),
    ("Flash Pass", "NodeSocketFloat", 0.0),
    ("Flash", "NodeSocketFloat", 0.0),  # the flash's envelope: 1 at its peak, fading back to 0
)


def node_tree(blocks: bool = False) -> bpy.types.GeometryNodeTree:
    """The shared tree (made by the first caller of a build): flat squares, or with ``blocks`` the
    film's blocks."""
    return shared_tree(BLOCKS_TREE_NAME if blocks else TREE_NAME, lambda tree: TreeBuilder(tree).build(blocks))


def shared_tree(role: str, build: Callable[[bpy.types.GeometryNodeTree], None]) -> bpy.types.GeometryNodeTree:
    """The build's one tagged tree called ``role``, made by ``build`` the first time it is asked for."""
    for group in bpy.data.node_groups:
        if group.get(TAG) and group.get(ROLE) == role:
            return group
    tree = tagged(bpy.data.node_groups.new(role, "GeometryNodeTree"))
    tree[ROLE] = role
    build(tree)
    return tree


def input_identifier(tree: bpy.types.NodeTree, name: str) -> str:
    """The identifier a modifier stores ``tree``'s input ``name`` under (``Socket_2`` …)."""
    for item in tree.interface.items_tree:
        if getattr(item, "in_out", None) == "INPUT" and item.name == name:
            return item.identifier
    raise KeyError(name)


class TreeBuilder:
    """Writes :func:`node_tree`'s nodes; one method per stage of the picture."""

    def __init__(self, tree: bpy.types.GeometryNodeTree) -> None:
        self.tree = tree
        self.nodes = tree.nodes
        self.links = tree.links

    def node(self, kind: str, **properties) -> bpy.types.Node:
        node = self.nodes.new(kind)
        for name, value in properties.items():
            setattr(node, name, value)
        return node

    def link(self, output, node: bpy.types.Node, input_name: str | int) -> None:
        self.links.new(output, socket_of(node.inputs, input_name))

    def math(self, operation: str, a, b=None, *, clamp: bool = False):
        """A Math node's output: ``a`` and ``b`` are sockets or numbers."""
        node = self.node("ShaderNodeMath", operation=operation, use_clamp=clamp)
        for slot, operand in ((0, a), (1, b)):
            if operand is None:
                continue
            if isinstance(operand, (int, float)):
                node.inputs[slot].default_value = operand
            else:
                self.links.new(operand, node.inputs[slot])
        return node.outputs[0]

    def build(self, blocks: bool = False) -> None:
        interface = self.tree.interface
        interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
        interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        for name, socket_type, default in INPUTS + (BLOCK_INPUTS if blocks else ()):
            item = interface.new_socket(name, in_out="INPUT", socket_type=socket_type)
            if default is not None:
                item.default_value = default
        group_in = self.node("NodeGroupInput")
        group_out = self.node("NodeGroupOutput")
        self.inputs = {output.name: output for output in group_in.outputs if output.name}
        data = self.inputs["Geometry"]

        first, second, fraction = self.records_for_frame()
        recorded = self.mix(fraction, self.color_of(self.named(VALUE_PREFIX, first)),
                            self.color_of(self.named(VALUE_PREFIX, second)), "RGBA")
        color = self.mix(self.inputs["Dark"], recorded, (*DARK, 1.0), "RGBA")  # Dark 0 (default): as recorded
        size = self.mix(fraction, self.size_of(self.named(MAGNITUDE_PREFIX, first)),
                        self.size_of(self.named(MAGNITUDE_PREFIX, second)), "FLOAT")

        # Colour attributes live on points or corners only (Workbench draws nothing else): the colour
        # map runs once per square on the face domain and is copied to its corners.
        per_square = self.node("GeometryNodeFieldOnDomain", domain="FACE", data_type="FLOAT_COLOR")
        self.link(color, per_square, "Value")
        shown = self.store(data, COLOR_ATTRIBUTE, socket_of(per_square.outputs, "Value"), "CORNER")
        moved = self.node("GeometryNodeSetPosition")
        self.link(shown, moved, "Geometry")
        self.link(self.scaled_about_centre(size), moved, "Position")
        if blocks:
            depth = self.flashed(self.mix(fraction, self.depth_of(first), self.depth_of(second), "FLOAT"))
            self.link(self.extruded(moved.outputs[0], depth), group_out, "Geometry")
        else:
            self.link(moved.outputs[0], group_out, "Geometry")

    def extruded(self, squares, depth):
        """Each square a block ``depth`` × CUBE_SIZE deep, from y = +depth/2 to −depth/2 (the square
        moved along its normal, −y, towards the camera), so it spans what an objects cube of y scale
        ``depth`` spans. Extrude Mesh copies the square's colour and flat shading
        (:func:`.writer.make_blocks`) onto the new faces. The block is open at the back, which faces the
        backdrop and is never in a shot: closing it (a flipped copy of each square joined in)
        doubled the tree's cost."""
        back_offset = self.node("ShaderNodeCombineXYZ")
        self.link(self.math("MULTIPLY", depth, CUBE_SIZE / 2), back_offset, "Y")
        back = self.node("GeometryNodeSetPosition")
        self.link(squares, back, "Geometry")
        self.link(back_offset.outputs[0], back, "Offset")
        front = self.node("GeometryNodeExtrudeMesh", mode="FACES")
        self.link(back.outputs[0], front, "Mesh")
        self.link(self.math("MULTIPLY", depth, CUBE_SIZE), front, "Offset Scale")
        return front.outputs[0]

    def depth_of(self, record):
        """film_plan.relief of record ``record``'s value (or magnitude): floor + gain ·
        clamp(|x| × Depth Factor)."""
        chosen = self.node("GeometryNodeSwitch", input_type="FLOAT")
        self.link(self.inputs["Depth From Magnitude"], chosen, "Switch")
        self.link(self.named(VALUE_PREFIX, record), chosen, "False")
        self.link(self.named(MAGNITUDE_PREFIX, record), chosen, "True")
        share = self.math("MULTIPLY", self.math("ABSOLUTE", socket_of(chosen.outputs, "Output")),
                          self.inputs["Depth Factor"], clamp=True)
        grown = self.math("MULTIPLY_ADD", share, film_plan.RELIEF_GAIN)
        grown.node.inputs[2].default_value = film_plan.RELIEF_FLOOR
        return grown

    def flashed(self, depth):
        """``depth`` × (1 + FLASH_GAIN × Flash × f_<Flash Pass>), as film_plan.flash_depths."""
        share = self.math("MULTIPLY", self.named(FLASH_PREFIX, self.inputs["Flash Pass"]), self.inputs["Flash"])
        grown = self.math("MULTIPLY_ADD", share, film_plan.FLASH_GAIN)
        grown.node.inputs[2].default_value = 1.0
        return self.math("MULTIPLY", depth, grown)

    def scaled_about_centre(self, size):
        """Each vertex moved towards its square's centre to ``size`` of the distance. Set Position
        rather than Scale Elements: that finds connected face groups on every evaluation, which
        costs more than the colour map for 100k squares."""
        position = self.node("GeometryNodeInputPosition").outputs[0]
        on_face = self.node("GeometryNodeFieldOnDomain", domain="FACE", data_type="FLOAT_VECTOR")
        self.link(position, on_face, "Value")
        centre = socket_of(on_face.outputs, "Value")  # the face's vertices' mean, read back per vertex
        offset = self.vector("SUBTRACT", position, centre)
        scaled = self.node("ShaderNodeVectorMath", operation="SCALE")
        self.link(offset, scaled, 0)
        self.link(size, scaled, "Scale")
        return self.vector("ADD", scaled.outputs[0], centre)

    def vector(self, operation: str, a, b):
        node = self.node("ShaderNodeVectorMath", operation=operation)
        self.link(a, node, 0)
        self.link(b, node, 1)
        return node.outputs[0]

    def records_for_frame(self):
        """(first record, second record, fraction between them) for the Scene Time's frame: the
        frame's place on the record timeline clamped to the recorded range, as constant
        extrapolation of the keyed curves outside it."""
        frame = socket_of(self.node("GeometryNodeInputSceneTime").outputs, "Frame")
        elapsed = self.math("SUBTRACT", frame, self.inputs["Frame Start"])
        place = self.math("DIVIDE", elapsed, self.inputs["Frames Per Record"])
        clamped = self.math("MINIMUM", self.math("MAXIMUM", place, 0.0), self.inputs["Last Record"])
        first = self.math("FLOOR", clamped)
        second = self.math("MINIMUM", self.math("ADD", first, 1.0), self.inputs["Last Record"])
        fraction = self.math("SUBTRACT", clamped, first)
        # Blender's SINE ease in and out, (1 - cos(pi t)) / 2, which keyframes.smooth gives the keys
        eased = self.math("MULTIPLY", self.math("SUBTRACT", 1.0, self.math("COSINE", self.math(
            "MULTIPLY", fraction, math.pi))), 0.5)
        # fraction + Eased · (eased - fraction): the Bool input picks one, with no Switch node
        # (whose sockets differ between Blender lines)
        picked = self.node("ShaderNodeMath", operation="MULTIPLY_ADD")
        self.links.new(self.math("SUBTRACT", eased, fraction), picked.inputs[0])
        self.links.new(self.inputs["Eased"], picked.inputs[1])
        self.links.new(fraction, picked.inputs[2])
        return first, second, picked.outputs[0]

    def named(self, prefix: str, record):
        """The Named Attribute field ``prefix + record``."""
        as_text = self.node("FunctionNodeValueToString")
        self.link(record, as_text, "Value")
        # Replace String rather than Join Strings: a multi-input's link order differs between versions.
        name = self.node("FunctionNodeReplaceString")
        socket_of(name.inputs, "String").default_value = prefix + "#"
        socket_of(name.inputs, "Find").default_value = "#"
        self.link(as_text.outputs[0], name, "Replace")
        attribute = self.node("GeometryNodeInputNamedAttribute", data_type="FLOAT")
        self.link(name.outputs[0], attribute, "Name")
        return socket_of(attribute.outputs, "Attribute")

    def color_of(self, value):
        """The colour map of ``value``: a Color Ramp over value × Value Factor + 0.5."""
        position = self.math("MULTIPLY_ADD", value, self.inputs["Value Factor"])
        position.node.inputs[2].default_value = 0.5
        ramp = self.node("ShaderNodeValToRGB")
        ramp.color_ramp.interpolation = "LINEAR"
        ramp.color_ramp.color_mode = "RGB"
        positions = cube_plan.ramp_positions()
        colors = cube_plan.ramp_colors(positions, positions)
        elements = ramp.color_ramp.elements
        while len(elements) < len(positions):
            elements.new(0.5)
        for element, where, rgb in zip(elements, positions, colors, strict=True):
            element.position = float((where + 1.0) / 2.0)
            element.color = (*(float(c) for c in rgb), 1.0)
        self.link(position, ramp, 0)
        return socket_of(ramp.outputs, "Color")

    def size_of(self, magnitude_field):
        """Smallest + (1 − Smallest) · √clamp(magnitude × Size Factor), as ``magnitude.sizes``."""
        fraction = self.math("MULTIPLY", self.math("ABSOLUTE", magnitude_field), self.inputs["Size Factor"],
                             clamp=True)
        root = self.math("SQRT", fraction)
        span = self.math("SUBTRACT", 1.0, self.inputs["Smallest Size"])
        grown = self.math("MULTIPLY", root, span)
        return self.math("ADD", grown, self.inputs["Smallest Size"])

    def mix(self, fraction, a, b, data_type: str):
        """``a`` to ``b`` by ``fraction``; ``b`` a socket or a constant."""
        node = self.node("ShaderNodeMix", data_type=data_type, clamp_factor=True)
        self.link(fraction, node, "Factor")
        self.link(a, node, "A")
        if isinstance(b, tuple):
            socket_of(node.inputs, "B").default_value = b
        else:
            self.link(b, node, "B")
        return socket_of(node.outputs, "Result")

    def store(self, geometry, name: str, value, domain: str):
        node = self.node("GeometryNodeStoreNamedAttribute", data_type="FLOAT_COLOR", domain=domain)
        self.link(geometry, node, "Geometry")
        socket_of(node.inputs, "Name").default_value = name
        self.link(value, node, "Value")
        return node.outputs[0]


def socket_of(sockets, name: str | int):
    """The socket called ``name`` that the node's current data type uses (multi-type nodes keep a
    hidden socket per type under one name), or the one at index ``name``."""
    if isinstance(name, int):
        return sockets[name]
    for candidate in sockets:
        if candidate.name == name and getattr(candidate, "enabled", True):
            return candidate
    raise KeyError(name)


