"""The film's studio: a floor and backdrop that catch the blocks' shadows, three soft suns, a dim world,
and the engines' shading (Workbench's studio light, shadows and cavity; EEVEE's; the bloom)."""

from __future__ import annotations

import math

import bpy

from ...picture.shapes import Bounds
from .. import bloom, instanced, objects
from .materials import surface_material

FLOOR_COLOR = (0.030, 0.031, 0.036, 1.0)  # linear; dark, so the blocks and their shadows read on it
BACKDROP_COLOR = (0.016, 0.017, 0.020, 1.0)
WORLD_COLOR = (0.018, 0.019, 0.024)
# (name, energy, XYZ rotation in degrees) of the film's suns
SUNS = (("key", 3.2, (50, 0, -35)), ("fill", 1.0, (65, 0, 50)), ("rim", 1.6, (-55, 0, 170)))
# Workbench's shadow direction (scene.display.light_direction): from above and a little behind, so
# each block's shadow volume runs back into the backdrop close behind it. The default's volumes ran
# down across the frame to the floor: with 2,410 casting blocks (digits) that frame took 2.3x the
# diagram's on a CPU, this one 1.9x (README's Speed).
SHADOW_DIRECTION = (0.25, 0.25, 0.93)


def set_stage(scene: bpy.types.Scene, root: bpy.types.Collection, everything: Bounds, casters: set[str]) -> None:
    """Floor, backdrop, lights, world and the engines' shading for the film around ``everything``;
    ``casters``: the History keys of the weight and bias tensors whose blocks alone cast
    Workbench shadows."""
    surfaces = _add_surfaces(root, everything)
    _add_suns(root)
    _light_world(scene.world)
    if instanced.tensor_objects(root):  # Workbench shows attributes (stage.set_up): carry the floor's colour into one
        instanced.carry_object_colors(surfaces)
    _shade(scene, root, casters)
    bloom.add(scene)


def _add_surfaces(root: bpy.types.Collection, everything: Bounds) -> list[bpy.types.Object]:
    """The floor under the picture and the backdrop behind it, both much wider than it."""
    (x0, _, z0), (x1, y1, z1) = everything
    size = 6 * max(x1 - x0, z1 - z0)
    centre_x = (x0 + x1) / 2
    surface = objects.square_mesh().copy()  # the square's shape, with its own material
    del surface[objects.ROLE]  # not the shared square any more
    surface.materials[0] = surface_material()
    floor = objects.tagged(bpy.data.objects.new("nnviz · floor", surface))
    floor.location = (centre_x, size / 2 - 0.25 * size, z0 - 1.5)
    floor.rotation_euler = (math.pi / 2, 0.0, 0.0)
    floor.scale = (size, 1.0, size)
    floor.color = FLOOR_COLOR
    backdrop = objects.tagged(bpy.data.objects.new("nnviz · backdrop", surface))
    backdrop.location = (centre_x, y1 + 0.35 * (x1 - x0), z0 - 1.5 + size / 2)
    backdrop.scale = (size, 1.0, size)
    backdrop.color = BACKDROP_COLOR
    for obj in (floor, backdrop):
        root.objects.link(obj)
    return [floor, backdrop]


def _add_suns(root: bpy.types.Collection) -> None:
    """The key, fill and rim suns in place of the diagram's one."""
    for obj in root.objects:  # the diagram's sun, for anything a user adds
        if obj.type == "LIGHT":
            bpy.data.objects.remove(obj)
    for name, energy, rotation in SUNS:
        light = objects.tagged(bpy.data.lights.new(f"nnviz · {name} light", type="SUN"))
        light.energy = energy
        light.angle = math.radians(12)  # soft contact shadows
        sun = objects.tagged(bpy.data.objects.new(f"nnviz · {name} light", light))
        sun.rotation_euler = tuple(math.radians(a) for a in rotation)
        root.objects.link(sun)


def _light_world(world: bpy.types.World) -> None:
    world.color = WORLD_COLOR
    background = world.node_tree.nodes.get("Background")
    if background is not None:
        background.inputs["Color"].default_value = (*WORLD_COLOR, 1.0)
        background.inputs["Strength"].default_value = 1.0


def _shade(scene: bpy.types.Scene, root: bpy.types.Collection, casters: set[str]) -> None:
    """Workbench's and EEVEE's shading for the film."""
    shading = scene.display.shading
    shading.light = "STUDIO"
    # Workbench's shadows are stencil volumes, and on a CPU (llvmpipe) every caster costs: with all
    # objects casting, a spiral frame took 5x the diagram's, the task view's points and the HUD
    # (whose volumes streak across the frame) most of it, then the neurons (a sphere has 46x a cube's
    # edges to extrude). Only the weight blocks cast (docs/benchmarks.md has the frame times), and of a
    # big network only its smaller tensors': the objects writer's cubes, and the instanced writer's
    # tensor objects (not its neuron columns or feature maps).
    shading.show_shadows = True
    scene.display.light_direction = SHADOW_DIRECTION
    for obj in root.all_objects:
        obj.display.show_shadows = (obj.get("nnviz_param") or obj.get(instanced.TENSOR_PROPERTY)) in casters
    shading.show_cavity = True
    # Screen-space cavity only: the world-space kind (ambient occlusion) added a fifth of the frame's
    # time and changed its pixels by 0.2% on average.
    shading.cavity_type = "SCREEN"
    shading.show_specular_highlight = True
    eevee = scene.eevee
    if hasattr(eevee, "use_gtao"):  # ambient occlusion (EEVEE Next keeps the switch for its horizon scan)
        eevee.use_gtao = True
    if hasattr(eevee, "use_shadows"):
        eevee.use_shadows = True
    # The view transform stays the diagram's 'Standard': AgX would wash out the colour map.

