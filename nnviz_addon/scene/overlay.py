"""The text above the network: the run's title, and a step counter and loss that change every record.

The counter is a Geometry Nodes text object. Its modifier's number inputs (step, loss, accuracy, and a
test split's loss and accuracy) are
keyed at each record's frame and turned into text by ``Value to String`` → ``Join Strings`` →
``String to Curves`` → ``Fill Curve``, so a saved ``.blend`` shows the right numbers on any Blender,
with no Python handler (render-time handlers also crash renders) and no nnviz installed.

What it shows where is :mod:`..picture.overlay`'s plan; this module only writes it. Numbers not known
at a record are keyed as ``-1`` and shown as "–".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import bpy
import numpy as np

from ..picture.layout import LINE_SPACING
from ..picture.overlay import DASH, INPUTS, OverlayPlan
from . import keyframes, objects

TITLE_NAME = "nnviz · title"
COUNTER_NAME = "nnviz · counter"
TITLE_COLOR = (0.9, 0.9, 0.9, 1.0)  # linear; a touch brighter than the labels


def add_overlay(collection: bpy.types.Collection, picture: OverlayPlan, record_frames: np.ndarray) -> None:
    """Add the title and the counter, keyed at ``record_frames`` (one per record), to ``collection``
    as ``picture`` places them (in the XZ picture plane, facing the camera at -y)."""
    material = objects.object_color_material()  # the one every nnviz object shares
    title = objects.add_label(picture.title, TITLE_NAME, collection)
    title.color = TITLE_COLOR

    values = picture.values
    action = keyframes.new_actions([COUNTER_NAME])[0]  # before the object, as keyframes asks
    tree = _counter_tree(shown=set(values), size=picture.size, material=material)
    mesh = objects.tagged(bpy.data.meshes.new(COUNTER_NAME))
    # One loose vertex (never rendered): the tree joins the text after it, so the text mesh keeps
    # this mesh's active colour attribute, which Workbench reads in an instanced scene on 5.0
    # (instanced.carry_object_colors); a mesh made by the tree alone has none and showed black.
    mesh.vertices.add(1)
    counter = objects.tagged(bpy.data.objects.new(COUNTER_NAME, mesh))
    counter.location = picture.counter_location
    counter.rotation_euler = (math.pi / 2, 0.0, 0.0)  # stand up in the XZ plane like the labels
    counter.color = objects.LABEL_COLOR
    modifier = counter.modifiers.new(COUNTER_NAME, "NODES")
    modifier.node_group = tree
    collection.objects.link(counter)

    sockets = input_identifiers(tree)
    for name, series in values.items():  # what shows before the animation is evaluated
        modifier[sockets[name]] = type(modifier[sockets[name]])(series[0])  # int inputs stay int
    channels = [(f'modifiers["{COUNTER_NAME}"]["{sockets[name]}"]', 0) for name in values]
    # CONSTANT: the counter shows the last recorded step and loss, never a value between two records.
    keyframes.write_curves(counter, action, channels, record_frames, np.stack(list(values.values())),
                           group="overlay", interpolation="CONSTANT")


def input_identifiers(tree: bpy.types.NodeTree) -> dict[str, str]:
    """Input name → the identifier the modifier stores its value under (``Socket_2`` …)."""
    return {item.name: item.identifier for item in tree.interface.items_tree
            if item.item_type == "SOCKET" and item.in_out == "INPUT"}


class _TreeBuilder:
    """A little help to wire a node tree: new nodes with inputs set or linked in one call."""

    def __init__(self, tree: bpy.types.NodeTree) -> None:
        self.tree = tree

    def node(self, kind: str, inputs: dict[int | str, object] | None = None, **properties: object) -> bpy.types.Node:
        node = self.tree.nodes.new(kind)
        for name, value in properties.items():
            setattr(node, name, value)
        for key, value in (inputs or {}).items():
            if isinstance(value, bpy.types.NodeSocket):
                self.tree.links.new(value, node.inputs[key])
            else:
                node.inputs[key].default_value = value
        return node

    def text(self, value: str) -> bpy.types.NodeSocket:
        return self.node("FunctionNodeInputString", string=value).outputs[0]

    def join(self, parts: Sequence[str | bpy.types.NodeSocket], delimiter: str = "") -> bpy.types.NodeSocket:
        join = self.node("GeometryNodeStringJoin", {"Delimiter": delimiter})
        # A multi-input socket evaluates its links newest first (checked on 4.2, 4.5 and 5.0).
        for part in reversed(parts):
            socket = self.text(part) if isinstance(part, str) else part
            self.tree.links.new(socket, join.inputs["Strings"])
        return join.outputs[0]

    def number(self, value: bpy.types.NodeSocket, decimals: int | bpy.types.NodeSocket,
               unit: str = "") -> bpy.types.NodeSocket:
        """``value`` as text followed by ``unit``, or "–" where it is
        :data:`..picture.overlay.UNKNOWN` (any negative value)."""
        text = self.node("FunctionNodeValueToString", {"Value": value, "Decimals": decimals}).outputs[0]
        if unit:
            text = self.join([text, unit])
        known = self.node("FunctionNodeCompare", {"A": value, "B": 0.0}, data_type="FLOAT",
                          operation="GREATER_EQUAL").outputs[0]
        switch = self.node("GeometryNodeSwitch", {0: known, 1: DASH, 2: text}, input_type="STRING")
        return switch.outputs[0]


def _counter_tree(shown: set[str], size: float, material: bpy.types.Material) -> bpy.types.NodeTree:
    """``step 120`` over ``loss 0.0312 · test 0.0450   accuracy 97.5% · test 95.0%`` (the inputs
    ``shown`` has), as a filled mesh with ``material``."""
    tree = objects.tagged(bpy.data.node_groups.new(COUNTER_NAME, "GeometryNodeTree"))
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")  # first, as a modifier's
    for name, socket_type in INPUTS:
        if name in shown:
            tree.interface.new_socket(name, in_out="INPUT", socket_type=socket_type)
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    build = _TreeBuilder(tree)
    group_in = build.node("NodeGroupInput").outputs
    step_line = build.join(["step", build.number(group_in["Step"], 0)], " ")
    loss_parts: list[str | bpy.types.NodeSocket] = ["loss", build.number(group_in["Loss"], group_in["Loss Decimals"])]
    if "Test Loss" in shown:
        loss_parts += ["·", "test", build.number(group_in["Test Loss"], group_in["Test Loss Decimals"])]
    if "Accuracy %" in shown:
        loss_parts += ["  accuracy", build.number(group_in["Accuracy %"], 1, unit="%")]
    if "Test Accuracy %" in shown:
        loss_parts += ["·", "test", build.number(group_in["Test Accuracy %"], 1, unit="%")]
    text = build.join([step_line, build.join(loss_parts, " ")], "\n")

    curves = build.node("GeometryNodeStringToCurves", {"String": text, "Size": size,
                                                      "Line Spacing": LINE_SPACING})
    realized = build.node("GeometryNodeRealizeInstances", {"Geometry": curves.outputs["Curve Instances"]})
    filled = build.node("GeometryNodeFillCurve", {"Curve": realized.outputs[0]})
    shaded = build.node("GeometryNodeSetMaterial", {"Geometry": filled.outputs[0], "Material": material})
    # The object's own mesh first: the joined mesh takes the first mesh's settings, its active
    # colour attribute among them (a multi-input socket evaluates its links newest first).
    joined = build.node("GeometryNodeJoinGeometry")
    for geometry in (shaded.outputs[0], group_in["Geometry"]):
        tree.links.new(geometry, joined.inputs[0])
    build.node("NodeGroupOutput", {0: joined.outputs[0]})
    return tree
