"""A forward pass in the middle of the run pauses it: every keyed value holds its record's until the
pass ends (:attr:`.film_passes.Timeline.holds`), then moves on to the next record."""

from __future__ import annotations

import bpy
import numpy as np

from ...picture.film_passes import Timeline
from .. import instanced, keyframes


def key_input(obj: bpy.types.Object, name: str, frames: np.ndarray, values: np.ndarray,
              interpolation: str) -> bpy.types.FCurve:
    """Key the Geometry Nodes modifier's input ``name`` of ``obj`` beside its other nnviz keys
    (the pauses' Frame Start keys, when the run pauses); returns the new curve."""
    return key_channel(obj, (instanced.input_path(obj, name), 0), frames, values, interpolation)


def key_channel(obj: bpy.types.Object, channel: tuple[str, int], frames: np.ndarray, values: np.ndarray,
                interpolation: str = "LINEAR") -> bpy.types.FCurve:
    """Key ``channel`` (data path, index) of ``obj`` at ``frames`` beside its other nnviz keys, in
    an action of its own when it has none yet; returns the new curve."""
    if keyframes.fcurves_of(obj):
        keyframes.add_curves(obj, [channel], frames, np.asarray(values)[None], interpolation=interpolation)
    else:
        action = keyframes.new_actions([f"nnviz · {obj.name} · forward pass"])[0]
        keyframes.write_curves(obj, action, [channel], frames, np.asarray(values)[None], interpolation=interpolation)
    obj.update_tag()
    return next(c for c in keyframes.fcurves_of(obj) if (c.data_path, c.array_index) == channel)


def hold_during_passes(root: bpy.types.Collection, plan: Timeline) -> None:
    """Every keyed value under ``root`` holds its record's through each pause of ``plan``: a copy
    of the record's key at the pause's end (whatever the curve keys: colours, text, curves' growth)."""
    if not len(plan.holds):
        return
    for target in _animated(root):
        for curve in keyframes.fcurves_of(target):
            held = [curve.evaluate(float(plan.record_frames[r])) for r in plan.hold_records]
            kinds = _interpolations_at(curve.keyframe_points, plan.record_frames[plan.hold_records])
            for frame, value, kind in zip(plan.holds.tolist(), held, kinds, strict=True):
                curve.keyframe_points.insert(frame, value, options={"FAST"}).interpolation = kind
        target.update_tag()
    for obj in instanced.tensor_objects(root).values():
        _hold_instanced(obj, plan)


def _animated(root: bpy.types.Collection) -> list[bpy.types.ID]:
    """Every ID under ``root`` that nnviz keyed: its objects and the data (curves) it keyed."""
    ids = {obj for obj in root.all_objects if obj.animation_data is not None}
    ids |= {obj.data for obj in root.all_objects if obj.data is not None and obj.data.animation_data is not None}
    return list(ids)


def _interpolations_at(points: bpy.types.FCurveKeyframePoints, frames: np.ndarray) -> list[str]:
    """The interpolation of the (last) key at each whole frame of ``frames``, LINEAR where there is
    none. The key frames are read in one call: reading every key through Python took 40% of a long
    film's build."""
    co = np.empty(2 * len(points), dtype=np.float32)
    points.foreach_get("co", co)
    at = {frame: index for index, frame in enumerate(co[0::2].astype(np.int64).tolist())}
    return [points[at[frame]].interpolation if frame in at else "LINEAR" for frame in np.asarray(frames).tolist()]


def _hold_instanced(obj: bpy.types.Object, plan: Timeline) -> None:
    """The Geometry Nodes cubes read record ``(frame - Frame Start) / Frames Per Record``: during a
    pause, Frame Start is keyed to follow the frame (CONSTANT keys at every paused frame)."""
    step = float(instanced.input_value(obj, "Frames Per Record"))
    frames = np.concatenate([np.arange(plan.record_frames[r], hold + 1)
                             for r, hold in zip(plan.hold_records, plan.holds, strict=True)])
    records = np.concatenate([np.full(hold + 1 - plan.record_frames[r], r)
                              for r, hold in zip(plan.hold_records, plan.holds, strict=True)])
    key_input(obj, "Frame Start", frames, frames - records * step, "CONSTANT")
