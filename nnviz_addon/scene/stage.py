"""The picture around the cubes: camera, light, world and colour management.

Render *output* (resolution, engine, file format) belongs to :mod:`.render`; this module only makes
any engine show the colour map's colours exactly: flat Workbench shading of ``object.color``, an
emissive shared material for Cycles/EEVEE (see :mod:`.objects`) and the 'Standard' view transform,
which applies the plain sRGB curve (the default AgX would desaturate the map).
"""

from __future__ import annotations

import math

import bpy

from ..picture import camera as camera_plan
from ..picture.camera import CAMERA_DISTANCE
from ..picture.shapes import Bounds
from .objects import root_collection, tagged

__all__ = ["BACKGROUND", "BOUNDS_PROPERTY", "CAMERA_DISTANCE", "COLOR_TYPE", "frame_aspect", "frame_camera",
           "hide_others", "set_up", "show_others"]

BACKGROUND = (0.012, 0.012, 0.014)  # linear; a near-black neutral the off-white zero stands out on
BOUNDS_PROPERTY = "nnviz_bounds"
COLOR_TYPE = {False: "OBJECT", True: "VERTEX"}  # Workbench's colour source, by attribute_colors
HIDDEN_PROPERTY = "nnviz_hidden"  # on the scene: the user's objects hide_others took out of the render



def set_up(scene: bpy.types.Scene, collection: bpy.types.Collection, bounds: Bounds,
           attribute_colors: bool = False) -> None:
    """Add the camera and light to ``collection`` and set the scene's shading and colour management.
    With ``attribute_colors`` Workbench shows meshes' colour attributes (the instanced cubes' colours)
    rather than object colours; Blender 4.2 and 4.5 then draw meshes without one in their object
    colour, 5.0 in their material's viewport colour."""
    camera = tagged(bpy.data.objects.new("nnviz · camera", tagged(bpy.data.cameras.new("nnviz · camera"))))
    camera.data.type = "ORTHO"
    camera.data.clip_end = 2 * CAMERA_DISTANCE
    camera.rotation_euler = camera_plan.ROTATION
    collection.objects.link(camera)
    scene.camera = camera
    collection[BOUNDS_PROPERTY] = [*bounds[0], *bounds[1]]
    frame_camera(scene)

    # The cubes emit their colour and ignore light; the sun is for anything else a user adds.
    sun = tagged(bpy.data.objects.new("nnviz · sun", tagged(bpy.data.lights.new("nnviz · sun", type="SUN"))))
    sun.rotation_euler = (math.radians(50), 0.0, math.radians(20))
    collection.objects.link(sun)

    scene.world = _world()
    shading = scene.display.shading
    shading.light = "FLAT"
    shading.color_type = COLOR_TYPE[attribute_colors]
    shading.show_cavity = False
    shading.show_shadows = False
    shading.show_object_outline = False
    scene.render.film_transparent = False
    # Dither adds noise to every pixel (shifting flat swatches by ~1.5/255 on 4.2): the colours are data.
    scene.render.dither_intensity = 0.0
    view = scene.view_settings
    view.view_transform = "Standard"
    view.look = "None"
    view.exposure = 0.0
    view.gamma = 1.0
    scene.display_settings.display_device = "sRGB"
    _show_object_colors_in_viewports(COLOR_TYPE[attribute_colors])


def hide_others(scene: bpy.types.Scene, collection: bpy.types.Collection) -> None:
    """Take every object of ``scene`` outside ``collection`` out of the render (``hide_render``,
    the Outliner's camera icon) so that only nnviz's picture is rendered (a fresh Blender's default
    cube would cover the first layer). Nothing is deleted, the viewport still shows them, and
    :func:`show_others` puts them back, as clearing nnviz's scene does."""
    ours = set(collection.all_objects)
    hidden = [obj for obj in scene.objects if obj not in ours and not obj.hide_render]
    for obj in hidden:
        obj.hide_render = True
    scene[HIDDEN_PROPERTY] = [*scene.get(HIDDEN_PROPERTY, []), *(obj.name for obj in hidden)]


def show_others(scene: bpy.types.Scene) -> None:
    """Render again the objects :func:`hide_others` hid (those still there)."""
    for name in scene.get(HIDDEN_PROPERTY, []):
        obj = bpy.data.objects.get(name)
        if obj is not None:
            obj.hide_render = False
    if HIDDEN_PROPERTY in scene:
        del scene[HIDDEN_PROPERTY]


def render_size(settings: bpy.types.RenderSettings) -> tuple[int, int]:
    """The rendered picture's (width, height) in pixels, the resolution percentage applied."""
    percent = settings.resolution_percentage / 100
    return max(1, round(settings.resolution_x * percent)), max(1, round(settings.resolution_y * percent))


def frame_aspect(settings: bpy.types.RenderSettings) -> float:
    """The rendered picture's width / height, pixel aspect included."""
    return camera_plan.aspect((settings.resolution_x, settings.resolution_y),
                              (settings.pixel_aspect_x, settings.pixel_aspect_y))


def frame_camera(scene: bpy.types.Scene) -> None:
    """Fit the nnviz camera to the network for the scene's current resolution; call again after
    changing the aspect ratio."""
    camera = scene.camera
    root = root_collection()
    if camera is None or root is None or BOUNDS_PROPERTY not in root:
        raise RuntimeError("frame_camera: no nnviz scene has been built")
    b = list(root[BOUNDS_PROPERTY])
    framing = camera_plan.framing((tuple(b[:3]), tuple(b[3:])), frame_aspect(scene.render))
    camera.location = framing.location
    camera.data.ortho_scale = framing.ortho_scale


def _world() -> bpy.types.World:
    world = tagged(bpy.data.worlds.new("nnviz · world"))
    world.color = BACKGROUND  # what Workbench draws behind the scene
    if world.node_tree is None:  # before 5.0, node trees are opt-in (5.0 deprecates the switch)
        world.use_nodes = True
    background = world.node_tree.nodes.get("Background")
    if background is not None:  # Cycles and EEVEE draw the node tree's background instead
        background.inputs["Color"].default_value = (*BACKGROUND, 1.0)
    return world


def _show_object_colors_in_viewports(color_type: str) -> None:
    """Solid-mode 3D viewports colour objects by material by default; ours carry object (or, when
    instanced, attribute) colours."""
    for screen in bpy.data.screens:
        for area in screen.areas:
            for space in area.spaces:
                if space.type == "VIEW_3D":
                    space.shading.color_type = color_type
