"""The instanced writer proper: a tensor's object made, keyed through its modifier's inputs, turned
into the film's blocks, and drawn live while training.

Each tensor object's mesh already is its cubes' geometry (:mod:`.squares`), with, per record ``r``,
the face attributes ``v_r`` (the value) and, when sizes show a magnitude, ``m_r``; the shared node
tree (:mod:`.node_tree`) turns them into the frame's colours and sizes.

Live training (``set_live``) turns the tree off on the tensor's object and writes the colours and
square sizes of the current values straight into its mesh: a tick then costs the write and a
mesh copy, not an evaluation of the tree (bench_big: 5 ms for 100k cubes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import bpy
import numpy as np

from ...picture import colormap, magnitude
from ...picture import cubes as cube_plan
from ..objects import tagged
from .node_tree import FLASH_PREFIX, INPUTS, MAGNITUDE_PREFIX, VALUE_PREFIX, input_identifier, node_tree
from .squares import COLOR_ATTRIBUTE, resize_squares, squares_mesh

MODIFIER_NAME = "nnviz · cubes"
TENSOR_PROPERTY = "nnviz_tensor"  # on a tensor object: its History key
SHAPE_PROPERTY = "nnviz_shape"
LIVE_RESIZED_PROPERTY = "nnviz_live_resized"  # live sizes moved the mesh's squares off full size
INDICES_PROPERTY = "nnviz_flat_indices"  # which flat tensor element each face draws, when not all in order


def value_name(record: int) -> str:
    return f"{VALUE_PREFIX}{record}"


def flash_name(forward_pass: int) -> str:
    return f"{FLASH_PREFIX}{forward_pass}"


def magnitude_name(record: int) -> str:
    return f"{MAGNITUDE_PREFIX}{record}"


def add_tensor(tensor: cube_plan.TensorCubes, collection: bpy.types.Collection, frame_start: int,
               frames_per_record: int) -> bpy.types.Object:
    """The object that draws ``tensor``'s cubes for every record."""
    block = tensor.block
    records, _ = tensor.values.shape
    mesh = squares_mesh(f"nnviz · {block.key}", np.asarray(block.positions, dtype=np.float32).reshape(-1, 3))
    _write_records(mesh, value_name, tensor.values)
    if tensor.magnitudes is not None:
        _write_records(mesh, magnitude_name, tensor.magnitudes)
    obj = tagged(bpy.data.objects.new(f"nnviz · {block.layer} {block.role}", mesh))
    obj[TENSOR_PROPERTY] = block.key
    obj[SHAPE_PROPERTY] = list(block.shape)
    flat = cube_plan.flat_index(block)
    if not isinstance(flat, slice):
        obj[INDICES_PROPERTY] = flat.tolist()
    collection.objects.link(obj)
    modifier = obj.modifiers.new(MODIFIER_NAME, "NODES")
    modifier.node_group = node_tree()
    sized = tensor.magnitudes is not None
    _set_inputs(modifier, {
        "Value Factor": cube_plan.inverse_scale(tensor.color_scale, 0.5),
        "Size Factor": cube_plan.inverse_scale(tensor.size_scale),
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
        resize_squares(mesh, magnitude.sizes(np.asarray(magnitudes, dtype=np.float64).ravel()[chosen],
                                              size_scale or 0.0))
        obj[LIVE_RESIZED_PROPERTY] = True
    elif obj.get(LIVE_RESIZED_PROPERTY):  # full size, as the objects writer shows unsized live values
        resize_squares(mesh, np.ones(len(flat)))
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
    _set_inputs(modifier, {**kept, "Depth Factor": cube_plan.inverse_scale(scale),
                           "Depth From Magnitude": from_magnitudes})


def write_flash(obj: bpy.types.Object, forward_pass: int, shares: np.ndarray) -> None:
    """Store ``shares`` (film_passes.contributions, the tensor's shape) as the face attribute the blocks
    tree reads while forward pass ``forward_pass``'s flash runs (its Flash Pass input)."""
    chosen = _drawn_elements(obj)
    _write(obj.data, flash_name(forward_pass), np.asarray(shares, dtype=np.float64).ravel()[chosen])


def _drawn_elements(obj: bpy.types.Object) -> np.ndarray | slice:
    """Which elements of the flat tensor ``obj``'s faces draw, in face order."""
    return np.asarray(obj[INDICES_PROPERTY], dtype=np.intp) if INDICES_PROPERTY in obj else slice(None)


def _write_records(mesh: bpy.types.Mesh, name_of: Callable[[int], str], per_record: np.ndarray) -> None:
    for record, row in enumerate(np.asarray(per_record, dtype=np.float32)):
        _write(mesh, name_of(record), row)


def _write(mesh: bpy.types.Mesh, name: str, values: np.ndarray) -> None:
    attribute = mesh.attributes.get(name) or mesh.attributes.new(name, "FLOAT", "FACE")
    attribute.data.foreach_set("value", np.ascontiguousarray(values, dtype=np.float32))


def _modifier_key(modifier: bpy.types.Modifier, name: str) -> str:
    return input_identifier(modifier.node_group, name)


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
