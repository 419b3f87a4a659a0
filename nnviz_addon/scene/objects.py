"""The nnviz datablocks: collections, cubes, labels and the legend, created through ``bpy.data``,
and the shared pieces every view builds from (the one material, the cube, sphere and square meshes,
objects with their actions made first, bulk keys).

Everything made here is tagged with the ``nnviz`` custom property so :func:`remove_all` finds it
again without guessing from names. All cubes share one mesh and all objects one material, so a
10,000-cube network is 10,000 light objects, not 10,000 meshes and materials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import bpy
import numpy as np

from ..picture.legends import ColorLegend, SizeCubes
from ..picture.shapes import CUBE_SIZE, Block, Label, shortened
from ..picture.view_layout import NEURON_RADIUS
from . import keyframes

ROOT_COLLECTION = "nnviz"
TAG = "nnviz"
ROLE = "nnviz_shared"  # on the shared material and meshes: which one it is, so it is found again
SPHERE_SEGMENTS = 24  # around; enough for a round silhouette at any size the frame gives a neuron
SPHERE_RINGS = 12
CUBE_CHANNELS = (("color", 0), ("color", 1), ("color", 2), ('["nnviz_value"]', 0))
# A cube's size is keyed in the picture (XZ) plane only: the camera looks along y, so scaling y too
# would add a third curve per cube that nobody sees.
SIZE_CHANNELS = (("scale", 0), ("scale", 2))
LABEL_COLOR = (0.75, 0.75, 0.75, 1.0)  # linear; a light grey that reads on the dark background
_ID_COLLECTIONS = ("objects", "meshes", "curves", "materials", "cameras", "lights", "worlds", "collections",
                   "node_groups")


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


MATERIAL_NAME = "nnviz · object colour"


def object_color_material() -> bpy.types.Material:
    """The one material every nnviz object shares (made by the first caller): it emits the object's
    own ``color`` (Object Info ▸ Color), so Cycles and EEVEE show exactly the colour Workbench's
    OBJECT mode shows, unaffected by light."""
    for material in bpy.data.materials:
        if material.get(TAG) and material.get(ROLE) == MATERIAL_NAME:
            return material
    material = tagged(bpy.data.materials.new(MATERIAL_NAME))
    material[ROLE] = MATERIAL_NAME  # found by this, not by a name a user's material may have taken
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


def show_colors_as_materials(objects: Iterable[bpy.types.Object]) -> None:
    """Give each of the curve and text ``objects`` a copy of the shared material whose viewport
    colour is the object's ``color``, one copy per colour. Workbench in Attribute colour mode (an
    instanced scene) draws a curve or text, which has no colour attribute, in its material's
    viewport colour: with the shared material every loss curve and label would be one grey. The
    copies emit the object colour as the shared one does, so EEVEE and Cycles are unchanged."""
    shared = object_color_material()
    by_color: dict[tuple[float, ...], bpy.types.Material] = {}
    for obj in objects:
        color = tuple(round(c, 6) for c in obj.color)
        if color not in by_color:
            material = shared.copy()
            material.name = f"{MATERIAL_NAME} {len(by_color)}"
            material[ROLE] = f"{MATERIAL_NAME} · viewport colour"  # never found as the shared one
            material.diffuse_color = color
            by_color[color] = material
        obj.data.materials[0] = by_color[color]


def shared_mesh(name: str, vertices: Sequence[Sequence[float]] | np.ndarray,
                faces: Sequence[Sequence[int]]) -> bpy.types.Mesh:
    """The tagged mesh ``name`` with the shared material, made from ``vertices`` and ``faces`` the
    first time it is asked for."""
    for mesh in bpy.data.meshes:
        if mesh.get(TAG) and mesh.get(ROLE) == name:
            return mesh
    mesh = tagged(bpy.data.meshes.new(name))
    mesh[ROLE] = name
    mesh.from_pydata(np.asarray(vertices, dtype=np.float64).tolist(), [], [list(f) for f in faces])
    mesh.validate()
    mesh.materials.append(object_color_material())
    return mesh


def shared_cube_mesh() -> bpy.types.Mesh:
    """A cube of edge ``CUBE_SIZE`` (weights, biases, legend segments)."""
    h = CUBE_SIZE / 2
    corners = [(x, y, z) for x in (-h, h) for y in (-h, h) for z in (-h, h)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return shared_mesh("nnviz · cube", corners, faces)


def sphere_mesh() -> bpy.types.Mesh:
    """A UV sphere of radius ``NEURON_RADIUS`` (neurons, data points, markers)."""
    rings, segments = SPHERE_RINGS, SPHERE_SEGMENTS
    polar = np.pi * np.arange(1, rings) / rings  # ring latitudes without the poles
    azimuth = 2 * np.pi * np.arange(segments) / segments
    ring_vertices = np.stack([np.outer(np.sin(polar), np.cos(azimuth)),
                              np.outer(np.sin(polar), np.sin(azimuth)),
                              np.repeat(np.cos(polar)[:, None], segments, axis=1)], axis=-1).reshape(-1, 3)
    vertices = np.vstack([[(0, 0, 1)], ring_vertices, [(0, 0, -1)]]) * NEURON_RADIUS
    bottom_pole = len(vertices) - 1

    def ring(r: int, s: int) -> int:
        return 1 + r * segments + s % segments

    faces = [(0, ring(0, s), ring(0, s + 1)) for s in range(segments)]
    faces += [(ring(r, s), ring(r + 1, s), ring(r + 1, s + 1), ring(r, s + 1))
              for r in range(rings - 2) for s in range(segments)]
    faces += [(ring(rings - 2, s + 1), ring(rings - 2, s), bottom_pole) for s in range(segments)]
    return shared_mesh("nnviz · sphere", vertices, faces)


def square_mesh() -> bpy.types.Mesh:
    """A 1 × 1 square in the picture plane facing the camera (tiles, swatches, pixels, lines)."""
    vertices = [(-0.5, 0.0, -0.5), (0.5, 0.0, -0.5), (0.5, 0.0, 0.5), (-0.5, 0.0, 0.5)]
    return shared_mesh("nnviz · square", vertices, [(0, 1, 2, 3)])


def new_objects(names: Sequence[str], data: bpy.types.ID, collection: bpy.types.Collection,
                positions: np.ndarray, rgba: np.ndarray, keyed: bool = False
                ) -> tuple[list[bpy.types.Object], list[bpy.types.Action]]:
    """Tagged objects of ``data`` at ``positions`` (N, 3) coloured ``rgba`` (N, 4), linked to
    ``collection``; with ``keyed``, also one fresh action each for :func:`keyframes.write_curves`
    (made first, as creating an action's slot gets slower with every object in the file)."""
    actions = keyframes.new_actions([f"nnviz · {name}" for name in names]) if keyed else []
    made = []
    link = collection.objects.link
    new = bpy.data.objects.new
    for name, position, color in zip(names, np.asarray(positions).tolist(), np.asarray(rgba).tolist(),
                                     strict=True):
        obj = new(name, data)
        obj.location = position
        obj.color = color
        obj[TAG] = True
        link(obj)
        made.append(obj)
    return made, actions


def key(target: bpy.types.ID, action: bpy.types.Action, frames: np.ndarray,
        channels: Mapping[tuple[str, int], np.ndarray]) -> None:
    """Key ``target`` at ``frames`` with one curve per ``(data_path, index) → values`` (same length)."""
    keyframes.write_curves(target, action, list(channels), frames, np.stack(list(channels.values())))


def cube_index(obj: bpy.types.Object) -> tuple[int, ...] | None:
    """A cube's ``nnviz_index`` as a tuple of ints, or None when it isn't one (edited by hand in
    the Custom Properties panel into text, a float, a list of lists...)."""
    stored = obj.get("nnviz_index")
    index = tuple(stored) if hasattr(stored, "__len__") and not isinstance(stored, str) else (stored,)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
        return None
    return index


def add_cubes(block: Block, mesh: bpy.types.Mesh, collection: bpy.types.Collection,
              values: np.ndarray, rgba: np.ndarray, sizes: np.ndarray | None = None,
              tag: str = "nnviz_param") -> list[bpy.types.Object]:
    """One object per element of ``block``; ``values`` (N,), ``rgba`` (N, 4) and ``sizes`` (N,)
    (edge as a fraction of a full cube; None for full size) are what it shows before any animation
    is evaluated. Each holds the block's History key in its property ``tag``."""
    names = [block.cube_name(i) for i in range(len(block.positions))]
    cubes, _ = new_objects(names, mesh, collection, block.positions, rgba)
    for cube, index, value in zip(cubes, block.indices.tolist(), values.tolist(), strict=True):
        cube[tag] = block.key
        cube["nnviz_index"] = index
        cube["nnviz_value"] = value
    if sizes is not None:
        set_sizes(cubes, sizes.tolist())
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


def add_label(label: Label, name: str, collection: bpy.types.Collection) -> bpy.types.Object:
    """Text standing in the picture plane, in the shared material; a long line is shortened as the
    layout measured it (:func:`..picture.shapes.shortened`)."""
    curve = tagged(bpy.data.curves.new(name, type="FONT"))
    curve.body = shortened(label.text)
    curve.size = label.size
    curve.align_x = label.align
    curve.materials.append(object_color_material())
    text = tagged(bpy.data.objects.new(name, curve))
    text.location = label.position
    text.rotation_euler = (np.pi / 2, 0.0, 0.0)  # stand up in the XZ plane, facing the camera at -y
    text.color = LABEL_COLOR
    collection.objects.link(text)
    return text


def add_legend(legend: ColorLegend, mesh: bpy.types.Mesh, collection: bpy.types.Collection) -> None:
    """The colour bar (one flattened cube per segment) with its value labels and caption."""
    names = [f"nnviz · legend {i:02d}" for i in range(len(legend.positions))]
    segments, _ = new_objects(names, mesh, collection, legend.positions, legend.rgba)
    for segment in segments:
        segment.scale = legend.scale
    for label in legend.value_labels:
        add_label(label, f"nnviz · legend {label.align.lower()}", collection)
    add_label(legend.caption, "nnviz · legend caption", collection)


def add_size_legend(legend: SizeCubes, mesh: bpy.types.Mesh, collection: bpy.types.Collection) -> None:
    """The size legend: its cubes, the labels under them and the caption beside them."""
    names = [f"nnviz · size legend {i:02d}" for i in range(len(legend.positions))]
    cubes, _ = new_objects(names, mesh, collection, legend.positions, legend.rgba)
    set_sizes(cubes, legend.sizes.tolist())
    for i, label in enumerate(legend.labels):
        add_label(label, f"nnviz · size legend label {i:02d}", collection)
    add_label(legend.caption, "nnviz · size legend caption", collection)
