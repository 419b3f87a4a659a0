"""The film's heads-up overlay: the title, counter and legends parented to the camera in the band at
the top of the frame (:func:`.film_plan.hud_placement`), and a dark band behind them."""

from __future__ import annotations

import bpy
from mathutils import Matrix

from ...picture import film as film_plan
from ...picture.layout import Layout
from ...picture.shapes import Bounds
from .. import instanced, objects, overlay
from .materials import unlit_material

HUD_BAND_NAME = "nnviz · HUD band"
HUD_BAND_COLOR = (0.010, 0.011, 0.014, 1.0)  # linear; just under the backdrop's, so wide shots hardly show it
HUD_SIDES = {"overlay": "left", "legend": "right"}
# World picture plane (x, y, z) → camera-local HUD plane (x, z, -y): the text faces the lens.
_PLANE_TO_HUD = Matrix(((1, 0, 0, 0), (0, 0, 1, 0), (0, -1, 0, 0), (0, 0, 0, 1)))


def move_to_hud(camera: bpy.types.Object, lens: film_plan.Lens, overlay_box: Bounds, layout: Layout) -> None:
    """Parent the title and counter (left) and the legends (right) to the camera, in the HUD band."""
    groups: dict[str, tuple[list[bpy.types.Object], Bounds | None]] = {
        "overlay": ([bpy.data.objects[n] for n in (overlay.TITLE_NAME, overlay.COUNTER_NAME) if n in bpy.data.objects],
                    overlay_box),
        "legend": (list(bpy.data.collections["nnviz · legend"].objects)
                   if "nnviz · legend" in bpy.data.collections else [], layout.legend_bounds),
    }
    for name, (members, box) in groups.items():
        if not members or box is None:
            continue
        place = film_plan.hud_placement(box, lens, HUD_SIDES[name])
        (ax, az), (ox, oy) = place.anchor, place.offset
        to_hud = (Matrix.Translation((ox, oy, -film_plan.HUD_DISTANCE)) @ Matrix.Scale(place.scale, 4)
                  @ _PLANE_TO_HUD @ Matrix.Translation((-ax, 0.0, -az)))
        for obj in members:
            picture = obj.matrix_basis.copy()
            obj.parent = camera
            obj.matrix_parent_inverse = Matrix.Identity(4)
            obj.matrix_basis = to_hud @ picture
            obj["nnviz_hud"] = name


def add_hud_band(camera: bpy.types.Object, lens: film_plan.Lens, root: bpy.types.Collection) -> None:
    """A dark, unlit band behind the HUD text across the top of the frame, fixed to the camera:
    shots keep the picture below the band, but where blocks pass behind the text (a close-up, a
    glide between shots) light text over light blocks could not be read."""
    # Just behind the text, still nearer than the picture; tilted (its lower edge further away), as
    # facing the camera squarely it caught Workbench's studio highlight whole and showed light grey.
    near, far = film_plan.HUD_DISTANCE * 1.01, film_plan.HUD_DISTANCE * 1.3
    corners = []  # on the rays through the band's corners, so it covers the band exactly
    for (u, v), distance in zip(((0, 0), (1, 0), (1, 1), (0, 1)), (far, far, near, near), strict=True):
        x0, x1, y0, y1 = lens.frame_at(distance)
        bottom = y1 - film_plan.HUD_BAND * (y1 - y0)
        corners.append((x0 + u * (x1 - x0), bottom + v * (y1 - bottom), -distance))
    mesh = objects.tagged(bpy.data.meshes.new(HUD_BAND_NAME))
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    mesh.materials.append(unlit_material())
    band = objects.tagged(bpy.data.objects.new(HUD_BAND_NAME, mesh))
    band.color = HUD_BAND_COLOR
    band.parent = camera
    band["nnviz_hud"] = "band"
    root.objects.link(band)
    if instanced.tensor_objects(root):  # Workbench shows attributes (stage.set_up): carry its colour into one
        instanced.carry_object_colors([band])
