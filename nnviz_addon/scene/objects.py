"""The nnviz datablocks: collections, cubes, labels and the legend, created through ``bpy.data``.

Everything made here is tagged with the ``nnviz`` custom property so :func:`remove_all` finds it
again without guessing from names. All cubes share one mesh and all objects one material, so a
10,000-cube network is 10,000 light objects, not 10,000 meshes and materials.
"""

from __future__ import annotations

from collections.abc import Iterable

import bpy
import numpy as np

from .. import colormap
from ..layout import CUBE_SIZE, Block, Label, Legend, SizeLegend
from . import keyframes

ROOT_COLLECTION = "nnviz"
TAG = "nnviz"
CUBE_CHANNELS = (("color", 0), ("color", 1), ("color", 2), ('["nnviz_value"]', 0))
# A cube's size is keyed in the picture (XZ) plane only: the camera looks along y, so scaling y too
# would add a third curve per cube that nobody sees.
SIZE_CHANNELS = (("scale", 0), ("scale", 2))
LABEL_COLOR = (0.75, 0.75, 0.75, 1.0)  # linear; a light grey that reads on the dark background
_ID_COLLECTIONS = ("objects", "meshes", "curves", "materials", "cameras", "lights", "worlds", "collections")


def tagged(datablock: bpy.types.ID) -> bpy.types.ID:
    datablock[TAG] = True
    return datablock


def root_collection() -> bpy.types.Collection | None:
    root = bpy.data.collections.get(ROOT_COLLECTION)
    return root if root is not None and root.get(TAG) else None


def new_collection(name: str, parent: bpy.types.Collection) -> bpy.types.Collection:
    collection = tagged(bpy.data.collections.new(name))
    parent.children.link(collection)
    return collection


def remove_all() -> None:
    """Delete every datablock nnviz made, plus data that only our objects used (e.g. the overlay's)."""
    root = root_collection()
    objects = set(root.all_objects) if root is not None else set()
    objects |= {o for o in bpy.data.objects if o.get(TAG)}
    orphans_to_be = {o.data for o in objects if o.data is not None}
    for obj in objects:
        obj.animation_data_clear()
    keyframes.remove_owned_actions()
    doomed = set(objects)
    for attribute in _ID_COLLECTIONS:
        doomed |= {d for d in getattr(bpy.data, attribute) if d.get(TAG)}
    bpy.data.batch_remove(list(doomed))
    leftover = [d for d in orphans_to_be if _alive(d) and d.users == 0]
    if leftover:
        bpy.data.batch_remove(leftover)


def _alive(datablock: bpy.types.ID) -> bool:
    try:
        return datablock.name is not None
    except ReferenceError:
        return False


def shared_cube_mesh() -> bpy.types.Mesh:
    h = CUBE_SIZE / 2
    corners = [(x, y, z) for x in (-h, h) for y in (-h, h) for z in (-h, h)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = tagged(bpy.data.meshes.new("nnviz · cube"))
    mesh.from_pydata(corners, [], faces)
    mesh.validate()
    return mesh


def object_color_material() -> bpy.types.Material:
    """One material for every nnviz object: emits the object's own ``color`` (Object Info ▸ Color),
    so Cycles and EEVEE show exactly the colour Workbench's OBJECT mode shows, unaffected by light."""
    material = tagged(bpy.data.materials.new("nnviz · object colour"))
    if material.node_tree is None:  # before 5.0, node trees are opt-in (5.0 deprecates the switch)
        material.use_nodes = True
    nodes = material.node_tree.nodes
    nodes.clear()
    info = nodes.new("ShaderNodeObjectInfo")
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    emission.inputs["Strength"].default_value = 1.0
    links = material.node_tree.links
    links.new(info.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    info.location, emission.location, output.location = (-400, 0), (-150, 0), (100, 0)
    return material


def add_cubes(block: Block, mesh: bpy.types.Mesh, collection: bpy.types.Collection,
              values: np.ndarray, rgba: np.ndarray, sizes: np.ndarray | None = None) -> list[bpy.types.Object]:
    """One object per element of ``block``; ``values`` (N,), ``rgba`` (N, 4) and ``sizes`` (N,)
    (edge as a fraction of a full cube; None for full size) are what it shows before any animation
    is evaluated."""
    cubes = []
    link = collection.objects.link
    new = bpy.data.objects.new
    for i, position in enumerate(block.positions.tolist()):
        cube = new(block.cube_name(i), mesh)
        cube.location = position
        cube.color = rgba[i]
        if sizes is not None:
            cube.scale = _flat_scale(float(sizes[i]))
        cube["nnviz_param"] = block.key
        cube["nnviz_index"] = block.indices[i].tolist()
        cube["nnviz_value"] = float(values[i])
        cube[TAG] = True
        link(cube)
        cubes.append(cube)
    return cubes


def cube_actions(block: Block) -> list[bpy.types.Action]:
    """The actions :func:`key_cubes` fills for ``block``'s cubes; make them before the cubes."""
    return keyframes.new_actions([f"nnviz · {block.cube_name(i)}" for i in range(len(block.positions))])


def _flat_scale(size: float) -> tuple[float, float, float]:
    return (size, 1.0, size)


def key_cubes(cubes: list[bpy.types.Object], actions: list[bpy.types.Action], frames: np.ndarray,
              values: np.ndarray, rgba: np.ndarray, sizes: np.ndarray | None = None) -> None:
    """Key every cube's colour (RGB; alpha stays 1) and ``nnviz_value`` at ``frames``, and its size
    in the picture plane when ``sizes`` is given: ``values`` and ``sizes`` are (records, cubes),
    ``rgba`` (records, cubes, 4). All curves of a cube go into its one action in one pass."""
    parts = [rgba[..., :3], values[..., None]]
    channels = CUBE_CHANNELS
    if sizes is not None:
        parts.append(np.repeat(sizes[..., None], len(SIZE_CHANNELS), axis=-1))
        channels = CUBE_CHANNELS + SIZE_CHANNELS
    # (cubes, channels, records), contiguous per cube, in ``channels`` order.
    keyed = np.ascontiguousarray(np.concatenate(parts, axis=-1).transpose(1, 2, 0), dtype=np.float32)
    for cube, action, cube_values in zip(cubes, actions, keyed, strict=True):
        keyframes.write_curves(cube, action, channels, frames, cube_values)


def set_sizes(cubes: Iterable[bpy.types.Object], sizes: Iterable[float]) -> None:
    """Set cube sizes without keyframes (live display)."""
    for cube, size in zip(cubes, sizes, strict=True):
        cube.scale = _flat_scale(size)


def add_label(label: Label, name: str, collection: bpy.types.Collection,
              material: bpy.types.Material) -> bpy.types.Object:
    curve = tagged(bpy.data.curves.new(name, type="FONT"))
    curve.body = label.text
    curve.size = label.size
    curve.align_x = label.align
    curve.materials.append(material)
    text = tagged(bpy.data.objects.new(name, curve))
    text.location = label.position
    text.rotation_euler = (np.pi / 2, 0.0, 0.0)  # stand up in the XZ plane, facing the camera at -y
    text.color = LABEL_COLOR
    collection.objects.link(text)
    return text


def add_legend(legend: Legend, labels: Iterable[str], caption: str, mesh: bpy.types.Mesh,
               collection: bpy.types.Collection, material: bpy.types.Material) -> None:
    """The colour bar (one flattened cube per segment) with its value labels and caption."""
    rgba = colormap.colors(legend.segment_values, 1.0)
    scale = tuple(s / CUBE_SIZE for s in legend.segment_size)
    for i, position in enumerate(legend.segment_positions.tolist()):
        segment = tagged(bpy.data.objects.new(f"nnviz · legend {i:02d}", mesh))
        segment.location = position
        segment.scale = scale
        segment.color = rgba[i]
        collection.objects.link(segment)
    alignments = ("LEFT", "CENTER", "RIGHT")
    for anchor, text, align in zip(legend.value_label_anchors, labels, alignments, strict=True):
        label = Label(text, anchor, legend.text_size, align)
        add_label(label, f"nnviz · legend {align.lower()}", collection, material)
    add_label(Label(caption, legend.caption_anchor, legend.text_size), "nnviz · legend caption", collection,
              material)


def add_size_legend(legend: SizeLegend, sizes: Iterable[float], mesh: bpy.types.Mesh,
                    collection: bpy.types.Collection, material: bpy.types.Material) -> None:
    """The size legend: one neutral cube per entry, sized like a network cube showing its label's
    magnitude, the labels under them and the caption beside them."""
    neutral = colormap.colors(np.zeros(1), 1.0)[0]  # the colour of a zero value: only size varies
    for i, (position, size) in enumerate(zip(legend.positions.tolist(), sizes, strict=True)):
        cube = tagged(bpy.data.objects.new(f"nnviz · size legend {i:02d}", mesh))
        cube.location = position
        cube.scale = _flat_scale(size)
        cube.color = neutral
        collection.objects.link(cube)
    for i, label in enumerate(legend.labels):
        add_label(label, f"nnviz · size legend label {i:02d}", collection, material)
    add_label(legend.caption, "nnviz · size legend caption", collection, material)
