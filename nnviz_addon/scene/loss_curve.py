"""The loss as a 3D curve that grows while the run plays.

One poly spline through every finite loss (x: record, so time in the video runs left to right at a
steady pace; z: the loss, on a log scale when it spans more than two decades), drawn as a bevelled
tube whose ``bevel_factor_end`` is keyed from 0 to 1. With ``bevel_factor_mapping_end =
'RESOLUTION'`` the factor counts the poly spline's points, not its length ('SPLINE' and 'SEGMENTS'
both follow length, so a noisy, steep start would eat most of the factor), and factor ``k / (n - 1)``
ends exactly at point ``k`` however steeply the loss falls. A small marker rides on the curve's
tip. Where everything goes, and what it shows at each record, is :mod:`..picture.loss_curve`'s plan;
this module only writes it.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..picture.loss_curve import Curve, LossCurvePlan
from . import keyframes, objects


def add_loss_curve(parent: bpy.types.Collection, picture: LossCurvePlan) -> None:
    """Write ``picture``: the loss curve (and the test loss's beside it, with a key naming both) with
    its axes and min/max labels, growing at its frames, in a collection ``nnviz · loss`` under ``parent``."""
    collection = objects.new_collection("nnviz · loss", parent)
    for curve in picture.curves:
        _add_curve(collection, picture.frames, curve)
    axes, _ = objects.new_objects(["loss · axis y", "loss · axis x"], objects.square_mesh(), collection,
                                  picture.axis_centres, picture.axis_rgba)
    for axis, scale in zip(axes, picture.axis_scales, strict=True):
        axis.scale = scale
    for label in picture.labels:
        objects.add_label(label, f"loss · {label.text}", collection)
    for name, label, rgba in picture.key:
        objects.add_label(label, f"loss · key {name}", collection).color = rgba
    bpy.data.objects["loss · curve"]["nnviz_log_scale"] = picture.log


def _add_curve(collection: bpy.types.Collection, record_frames: np.ndarray, plan: Curve) -> None:
    """One loss's tube, growing at each record, and the marker on its tip."""
    name = plan.name
    # The growth is keyed on the curve datablock (a CURVE id), not on its object.
    (action,) = keyframes.new_actions([f"nnviz · {name} curve"], id_type="CURVE")
    curve = objects.tagged(bpy.data.curves.new(f"nnviz · {name} curve", type="CURVE"))
    curve.dimensions = "3D"
    curve.bevel_depth = plan.tube_radius
    curve.bevel_resolution = 2
    curve.use_fill_caps = True
    curve.bevel_factor_mapping_start = "RESOLUTION"
    curve.bevel_factor_mapping_end = "RESOLUTION"
    curve.materials.append(objects.object_color_material())
    spline = curve.splines.new("POLY")
    spline.points.add(len(plan.points) - 1)
    spline.points.foreach_set("co", np.column_stack([plan.points, np.ones(len(plan.points))]).ravel())
    curve.bevel_factor_end = float(plan.bevel_end[0])
    objects.new_objects([f"{name} · curve"], curve, collection, np.zeros((1, 3)), plan.rgba)
    objects.key(curve, action, record_frames, {("bevel_factor_end", 0): plan.bevel_end})

    marker, actions = objects.new_objects([f"{name} · tip"], objects.sphere_mesh(), collection,
                                          [[plan.marker_x[0], -0.1, plan.marker_z[0]]], plan.rgba, keyed=True)
    marker[0].scale = (float(plan.marker_scale[0]),) * 3
    objects.key(marker[0], actions[0], record_frames,
                {("location", 0): plan.marker_x, ("location", 2): plan.marker_z,
                 **{("scale", axis): plan.marker_scale for axis in range(3)}})
