"""The instanced cube writer: one object per parameter tensor, drawn by a Geometry Nodes tree.

Each tensor object's mesh already is its cubes' geometry: one square (4 vertices, 1 face) per cube,
and, per record ``r``, the face attributes ``v_r`` (the value) and, when sizes show a magnitude,
``m_r``. One shared node tree reads the Scene Time, picks the two records around the frame by name
and mixes them linearly the way the objects writer's LINEAR F-Curves do (colours and sizes are
mixed, not values), applies the colour map (a Color Ramp through
:func:`..picture.cubes.ramp_positions`), stores it as the mesh's active (corner) colour ``nn_color``
and scales each square about its centre by the size rule. Nothing runs in Python at
render time, so a saved ``.blend`` renders on a Blender without nnviz.

Why the tree is shaped as it is: an earlier version instanced a prototype square on one point per
cube and realized the instances; that evaluation cost 40–70 ms per frame for 100k cubes, while
storing a colour and scaling faces of a mesh that is already there costs a fraction of it.
Workbench shows only the mesh's *active* colour attribute, so the base mesh carries an active
``nn_color`` that the tree overwrites. The camera looks at the picture face on, so a square shows
what a cube's front face shows with a sixth of the faces to render.

Live training (``set_live``) turns the tree off on the tensor's object and writes the colours and
square sizes of the current values straight into its mesh: a tick then costs the write and a
mesh copy, not an evaluation of the tree (bench_big: 5 ms for 100k cubes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import bpy
import numpy as np

from ..picture import colormap, magnitude
from ..picture import cubes as cube_plan
from ..picture import film as film_plan
from ..picture.shapes import CUBE_SIZE
from .objects import ROLE, TAG, object_color_material, tagged

TREE_NAME = "nnviz · instanced cubes"
BLOCKS_TREE_NAME = "nnviz · instanced film blocks"
MATERIAL_NAME = "nnviz · attribute colour"
COLOR_ATTRIBUTE = "nn_color"  # the mesh's active (corner) colour: what Workbench, Cycles and EEVEE show
MODIFIER_NAME = "nnviz · cubes"
TENSOR_PROPERTY = "nnviz_tensor"  # on a tensor object: its History key
SHAPE_PROPERTY = "nnviz_shape"
LIVE_RESIZED_PROPERTY = "nnviz_live_resized"  # live sizes moved the mesh's squares off full size
INDICES_PROPERTY = "nnviz_flat_indices"  # which flat tensor element each face draws, when not all in order
SQUARE = np.array([(-1, 0, -1), (1, 0, -1), (1, 0, 1), (-1, 0, 1)], dtype=np.float32) * (CUBE_SIZE / 2)
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


def value_name(record: int) -> str:
    return f"v_{record}"


def flash_name(forward_pass: int) -> str:
    return f"f_{forward_pass}"


def magnitude_name(record: int) -> str:
    return f"m_{record}"


def add_tensor(tensor: cube_plan.TensorCubes, collection: bpy.types.Collection, frame_start: int,
               frames_per_record: int) -> bpy.types.Object:
    """The object that draws ``tensor``'s cubes for every record."""
    block = tensor.block
    records, count = tensor.values.shape
    mesh = squares_mesh(f"nnviz · {block.key}", np.asarray(block.positions, dtype=np.float32).reshape(-1, 3))
    _write_records(mesh, value_name, tensor.values)
    if tensor.magnitudes is not None:
        _write_records(mesh, magnitude_name, tensor.magnitudes)
    obj = tagged(bpy.data.objects.new(f"nnviz · {block.layer} {block.role}", mesh))
    obj[TENSOR_PROPERTY] = block.key
    obj[SHAPE_PROPERTY] = list(block.shape)
    flat = np.ravel_multi_index(tuple(np.asarray(block.indices).T), block.shape) if block.shape else [0]
    if not np.array_equal(flat, np.arange(count)):
        obj[INDICES_PROPERTY] = np.asarray(flat).tolist()
    collection.objects.link(obj)
    modifier = obj.modifiers.new(MODIFIER_NAME, "NODES")
    modifier.node_group = node_tree()
    sized = tensor.magnitudes is not None
    _set_inputs(modifier, {
        "Value Factor": _factor(tensor.color_scale, 0.5),
        "Size Factor": _factor(tensor.size_scale, 1.0),
        "Smallest Size": magnitude.MIN_SIZE if sized else 1.0,
        "Last Record": float(records - 1),
        "Frame Start": float(frame_start),
        "Frames Per Record": float(frames_per_record),
    })
    return obj


def ease(root: bpy.types.Collection) -> None:
    """Ease every tensor object's cubes between records (``motion = "smooth"``), as the SMOOTH keys."""
    for obj in tensor_objects(root).values():
        _set_inputs(obj.modifiers[MODIFIER_NAME], {"Eased": True})


def tensor_objects(root: bpy.types.Collection) -> dict[str, bpy.types.Object]:
    """History key → the instanced object drawing it, in the built scene under ``root``."""
    return {obj[TENSOR_PROPERTY]: obj for obj in root.all_objects if TENSOR_PROPERTY in obj}


def set_live(obj: bpy.types.Object, values: np.ndarray, color_scale: float,
             magnitudes: np.ndarray | None = None, size_scale: float | None = None) -> None:
    """Draw ``values`` (the tensor as it is now) instead of the records, and size by ``magnitudes``
    where given (else full size when the build had sizes)."""
    mesh = obj.data
    chosen = _drawn_elements(obj)
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size != int(np.prod(obj[SHAPE_PROPERTY])):
        raise ValueError(f"scene.show_values: {obj[TENSOR_PROPERTY]!r} has {np.asarray(values).size} values, "
                         f"but the built scene draws a tensor of shape {tuple(obj[SHAPE_PROPERTY])}")
    flat = flat[chosen]
    modifier = obj.modifiers[MODIFIER_NAME]
    modifier.show_viewport = modifier.show_render = False
    colors = colormap.colors(flat, color_scale).astype(np.float32)
    mesh.attributes[COLOR_ATTRIBUTE].data.foreach_set("color", np.repeat(colors, 4, axis=0).ravel())
    if magnitudes is not None:
        _resize_squares(mesh, magnitude.sizes(np.asarray(magnitudes, dtype=np.float64).ravel()[chosen],
                                              size_scale or 0.0))
        obj[LIVE_RESIZED_PROPERTY] = True
    elif obj.get(LIVE_RESIZED_PROPERTY):  # full size, as the objects writer shows unsized live values
        _resize_squares(mesh, np.ones(len(flat)))
        del obj[LIVE_RESIZED_PROPERTY]
    mesh.update()


def make_blocks(obj: bpy.types.Object, scale: float, from_magnitudes: bool) -> None:
    """Draw ``obj``'s cubes as the film's blocks: each square extruded to a block whose depth (along
    y, centred on the grid plane like an objects cube's ``scale[1]``) is ``film_plan.relief`` of the
    record's value (or magnitude) on ``scale``, mixed between records as the colours are."""
    modifier = obj.modifiers[MODIFIER_NAME]
    kept = {name: modifier[_modifier_key(modifier, name)] for name, _, _ in INPUTS}
    modifier.node_group = node_tree(blocks=True)
    # Flat shaded, as the objects' cubes (a new mesh's faces are smooth, and a block's sides would
    # blend into its front); on the base mesh, as a Set Shade Smooth node would cost every frame.
    sharp = obj.data.attributes.get("sharp_face") or obj.data.attributes.new("sharp_face", "BOOLEAN", "FACE")
    sharp.data.foreach_set("value", np.ones(len(obj.data.polygons), dtype=bool))
    _set_inputs(modifier, {**kept, "Depth Factor": _factor(scale, 1.0), "Depth From Magnitude": from_magnitudes})


def write_flash(obj: bpy.types.Object, forward_pass: int, shares: np.ndarray) -> None:
    """Store ``shares`` (film_plan.contributions, the tensor's shape) as the face attribute the blocks
    tree reads while forward pass ``forward_pass``'s flash runs (its Flash Pass input)."""
    chosen = _drawn_elements(obj)
    _write(obj.data, flash_name(forward_pass), np.asarray(shares, dtype=np.float64).ravel()[chosen])


def _drawn_elements(obj: bpy.types.Object) -> np.ndarray | slice:
    """Which elements of the flat tensor ``obj``'s faces draw, in face order."""
    return np.asarray(obj[INDICES_PROPERTY], dtype=np.intp) if INDICES_PROPERTY in obj else slice(None)


def _resize_squares(mesh: bpy.types.Mesh, sizes: np.ndarray) -> None:
    """Each square of ``mesh`` scaled to ``sizes`` of full size about its centre."""
    corners = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", corners)
    centres = corners.reshape(-1, 4, 3).mean(axis=1)  # scaling a square about its centre keeps it
    squares = centres[:, None] + SQUARE[None] * sizes[:, None, None]
    mesh.vertices.foreach_set("co", squares.astype(np.float32).ravel())


def _factor(scale: float, numerator: float) -> float:
    """``numerator / scale``, 0 for a zero scale (all values neutral, all magnitudes smallest), as
    ``colormap.normalize`` and ``magnitude.sizes`` do."""
    return numerator / scale if scale > 0 and np.isfinite(scale) else 0.0


def _write_records(mesh: bpy.types.Mesh, name_of, per_record: np.ndarray) -> None:
    for record, row in enumerate(np.asarray(per_record, dtype=np.float32)):
        _write(mesh, name_of(record), row)


def _write(mesh: bpy.types.Mesh, name: str, values: np.ndarray) -> None:
    attribute = mesh.attributes.get(name) or mesh.attributes.new(name, "FLOAT", "FACE")
    attribute.data.foreach_set("value", np.ascontiguousarray(values, dtype=np.float32))


def _modifier_key(modifier: bpy.types.Modifier, name: str) -> str:
    for item in modifier.node_group.interface.items_tree:
        if getattr(item, "in_out", None) == "INPUT" and item.name == name:
            return item.identifier
    raise KeyError(name)


def input_path(obj: bpy.types.Object, name: str) -> str:
    """The data path, from ``obj``, of its cubes modifier's input ``name`` (to key it)."""
    modifier = obj.modifiers[MODIFIER_NAME]
    return f'modifiers["{modifier.name}"]["{_modifier_key(modifier, name)}"]'


def input_value(obj: bpy.types.Object, name: str) -> object:
    """The value ``obj``'s cubes modifier gives its input ``name``."""
    modifier = obj.modifiers[MODIFIER_NAME]
    return modifier[_modifier_key(modifier, name)]


def _set_inputs(modifier: bpy.types.Modifier, inputs: Mapping[str, object]) -> None:
    for name, value in inputs.items():
        modifier[_modifier_key(modifier, name)] = value


def squares_mesh(name: str, centres: np.ndarray) -> bpy.types.Mesh:
    """A mesh of one square per row of ``centres`` (4 vertices and 1 face each, in the picture's
    x-z plane), with the attribute colour material and an active, render ``nn_color``."""
    count = len(centres)
    mesh = tagged(bpy.data.meshes.new(name))
    mesh.vertices.add(count * 4)
    mesh.vertices.foreach_set("co", (centres[:, None, :] + SQUARE[None]).ravel())
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


def attribute_color_material() -> bpy.types.Material:
    """Like :func:`.objects.object_color_material`, but emitting the mesh's ``nn_color`` attribute."""
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


def node_tree(blocks: bool = False) -> bpy.types.GeometryNodeTree:
    """The shared tree (made by the first caller of a build): flat squares, or with ``blocks`` the
    film's blocks."""
    role = BLOCKS_TREE_NAME if blocks else TREE_NAME
    for group in bpy.data.node_groups:
        if group.get(TAG) and group.get(ROLE) == role:
            return group
    tree = tagged(bpy.data.node_groups.new(role, "GeometryNodeTree"))
    tree[ROLE] = role
    _TreeBuilder(tree).build(blocks)
    return tree


class _TreeBuilder:
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
        self.links.new(output, _socket(node.inputs, input_name))

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
            socket = interface.new_socket(name, in_out="INPUT", socket_type=socket_type)
            if default is not None:
                socket.default_value = default
        group_in = self.node("NodeGroupInput")
        group_out = self.node("NodeGroupOutput")
        self.inputs = {socket.name: socket for socket in group_in.outputs if socket.name}
        data = self.inputs["Geometry"]

        first, second, fraction = self.records_for_frame()
        recorded = self.mix(fraction, self.color_of(self.named("v_", first)),
                            self.color_of(self.named("v_", second)), "RGBA")
        color = self.mix(self.inputs["Dark"], recorded, (*DARK, 1.0), "RGBA")  # Dark 0 (default): as recorded
        size = self.mix(fraction, self.size_of(self.named("m_", first)),
                        self.size_of(self.named("m_", second)), "FLOAT")

        # Colour attributes live on points or corners only (Workbench draws nothing else): the colour
        # map runs once per square on the face domain and is copied to its corners.
        per_square = self.node("GeometryNodeFieldOnDomain", domain="FACE", data_type="FLOAT_COLOR")
        self.link(color, per_square, "Value")
        shown = self.store(data, COLOR_ATTRIBUTE, _socket(per_square.outputs, "Value"), "CORNER")
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
        (:func:`make_blocks`) onto the new faces. The block is open at the back, which faces the
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
        self.link(self.named("v_", record), chosen, "False")
        self.link(self.named("m_", record), chosen, "True")
        share = self.math("MULTIPLY", self.math("ABSOLUTE", _socket(chosen.outputs, "Output")),
                          self.inputs["Depth Factor"], clamp=True)
        grown = self.math("MULTIPLY_ADD", share, film_plan.RELIEF_GAIN)
        grown.node.inputs[2].default_value = film_plan.RELIEF_FLOOR
        return grown

    def flashed(self, depth):
        """``depth`` × (1 + FLASH_GAIN × Flash × f_<Flash Pass>), as film_plan.flash_depths."""
        share = self.math("MULTIPLY", self.named("f_", self.inputs["Flash Pass"]), self.inputs["Flash"])
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
        centre = _socket(on_face.outputs, "Value")  # the face's vertices' mean, read back per vertex
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
        frame = _socket(self.node("GeometryNodeInputSceneTime").outputs, "Frame")
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
        _socket(name.inputs, "String").default_value = prefix + "#"
        _socket(name.inputs, "Find").default_value = "#"
        self.link(as_text.outputs[0], name, "Replace")
        attribute = self.node("GeometryNodeInputNamedAttribute", data_type="FLOAT")
        self.link(name.outputs[0], attribute, "Name")
        return _socket(attribute.outputs, "Attribute")

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
        return _socket(ramp.outputs, "Color")

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
            _socket(node.inputs, "B").default_value = b
        else:
            self.link(b, node, "B")
        return _socket(node.outputs, "Result")

    def store(self, geometry, name: str, value, domain: str):
        node = self.node("GeometryNodeStoreNamedAttribute", data_type="FLOAT_COLOR", domain=domain)
        self.link(geometry, node, "Geometry")
        _socket(node.inputs, "Name").default_value = name
        self.link(value, node, "Value")
        return node.outputs[0]


def _socket(sockets, name: str | int):
    """The socket called ``name`` that the node's current data type uses (multi-type nodes keep a
    hidden socket per type under one name), or the one at index ``name``."""
    if isinstance(name, int):
        return sockets[name]
    for socket in sockets:
        if socket.name == name and getattr(socket, "enabled", True):
            return socket
    raise KeyError(name)


# Blender 5.0's Workbench draws a mesh without a colour attribute in its material's colour when the
# scene shows attribute colours (4.2 and 4.5 fall back to the object's colour): there, every other
# nnviz mesh carries its (keyed) object colour into ``nn_color`` through a modifier whose colour
# input is driven by the object's own ``color`` (plain AVERAGE drivers, no Python). Text keeps the
# material's viewport colour, a light grey.
OBJECT_COLOR_TREE = "nnviz · object colour attribute"
OBJECT_COLOR_MODIFIER = "nnviz · object colour"
NEEDS_OBJECT_COLOR_ATTRIBUTE = bpy.app.version >= (5, 0)


def carry_object_colors(objects: list[bpy.types.Object]) -> None:
    """Show each of the mesh ``objects``' ``color`` as its ``nn_color`` attribute (on 5.0+ only)."""
    if not NEEDS_OBJECT_COLOR_ATTRIBUTE:
        return
    tree = _object_color_tree()
    key = next(item.identifier for item in tree.interface.items_tree
               if getattr(item, "in_out", None) == "INPUT" and item.name == "Color")
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


def _object_color_tree() -> bpy.types.GeometryNodeTree:
    for group in bpy.data.node_groups:
        if group.get(TAG) and group.get(ROLE) == OBJECT_COLOR_TREE:
            return group
    tree = tagged(bpy.data.node_groups.new(OBJECT_COLOR_TREE, "GeometryNodeTree"))
    tree[ROLE] = OBJECT_COLOR_TREE
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Color", in_out="INPUT", socket_type="NodeSocketColor")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    builder = _TreeBuilder(tree)
    group_in = builder.node("NodeGroupInput")
    group_out = builder.node("NodeGroupOutput")
    stored = builder.store(group_in.outputs[0], COLOR_ATTRIBUTE, group_in.outputs[1], "POINT")
    builder.link(stored, group_out, "Geometry")
    return tree
