"""The film's forward passes keyed: every neuron dark at a pass's start, each stage lit at its turn
with the pass's record's colours, and the weights feeding it flashing by their share of the signal.
Every value keyed here comes from the History (the neurons' and the depths' plans), none is read
back from a curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bpy
import numpy as np

from ...history import History
from ...picture import film as film_plan
from ...picture import film_passes
from ...picture import neurons as neuron_plan
from ...picture.film_passes import Timeline
from .. import instanced, keyframes
from .depths import DEPTH_CHANNEL, cubes_by_key
from .pauses import key_channel, key_input

DARK = instanced.DARK  # linear; an unlit neuron, just off the background (the instanced tree's too)


def key_forward_passes(root: bpy.types.Collection, history: History, plan: Timeline) -> None:
    """Every neuron dark at each pass's start, each column lit at its turn with that pass's
    record's colour (:attr:`.film_passes.Timeline.lit`), holding until the records take over."""
    stages = film_passes.pass_stages(history)
    colors = film_passes.column_colors(history)
    channels = [("color", c) for c in range(3)]
    drawn = instanced.tensor_objects(root)
    for column, key in neuron_plan.column_keys(history).items():
        if key in drawn:  # the instanced writer's column
            _key_dark(drawn[key], plan.starts, plan.lit[:, stages.index(column)])
    for sphere in root.all_objects:
        column = sphere.get("nnviz_neuron")  # the objects writer's spheres
        if column not in stages:
            continue
        lit_at = plan.lit[:, stages.index(column)].tolist()
        shown = colors[column][np.minimum(plan.passes, len(colors[column]) - 1), sphere["nnviz_index"]]
        frames = np.ravel(np.column_stack([plan.starts, lit_at]))
        values = np.stack([np.broadcast_to(DARK, shown.shape), shown], axis=1).reshape(-1, 3).T
        curves = {(c.data_path, c.array_index): c for c in keyframes.fcurves_of(sphere)}
        if not curves:  # a column that never changes (the probe input): keyed here for the first time
            action = keyframes.new_actions([f"nnviz · {sphere.name} · forward pass"])[0]
            keyframes.write_curves(sphere, action, channels, frames, values, interpolation="CONSTANT")
            continue
        for channel, channel_values in zip(channels, values, strict=True):
            points = curves[channel].keyframe_points
            for frame, value in zip(frames.tolist(), channel_values.tolist(), strict=True):
                points.insert(frame, value, options={"FAST"}).interpolation = "CONSTANT"
        sphere.update_tag()


def _key_dark(obj: bpy.types.Object, starts: np.ndarray, lit_at: np.ndarray) -> None:
    """An instanced neuron column's tree input Dark keyed CONSTANT: 1 (every neuron DARK) from each
    pass's start, 0 (the record's colours, paused by :func:`.pauses.hold_during_passes`) from its lit frame."""
    # lit before the first pass too (a CONSTANT curve holds its first key's value before it)
    frames = np.concatenate([[starts[0] - 1], np.ravel(np.column_stack([starts, lit_at]))])
    values = np.concatenate([[0.0], np.tile([1.0, 0.0], len(starts))])
    key_input(obj, "Dark", frames, values, "CONSTANT")


def flash_weights(root: bpy.types.Collection, history: History, plan: Timeline,
                  depths: tuple[Mapping[str, np.ndarray], Mapping[str, float]]) -> None:
    """When a layer's turn comes in a pass, its weight cubes' depths flash by their share of the
    signal and fade back in ``FLASH_FRAMES``: |w_ij · x_j| for a Linear layer
    (:func:`.film_passes.contributions`), |w| times the mean |x| of the channel a kernel reads for a
    Conv2d layer (:func:`.film_passes.kernel_contributions`). ``depths``: what the blocks' depths
    show and on what scale (:func:`.film_plan.depth_source`), the depth a flash grows from."""
    shown, full = depths
    stages = film_passes.pass_stages(history)
    specs = {spec.name: spec for spec in history.structure}
    cubes = cubes_by_key(root)
    drawn = instanced.tensor_objects(root)
    flashes: dict[str, list[tuple[int, int]]] = {}  # instanced weight tensor → (pass, lit frame)
    for i, record in enumerate(plan.passes.tolist()):
        for name, x in film_passes.pass_inputs(history, record).items():
            spec = specs[name]
            if f"layer {name}" not in stages or (spec.weight not in cubes and spec.weight not in drawn):
                continue
            lit = int(plan.lit[i, stages.index(f"layer {name}")])
            weight = np.asarray(history.params[spec.weight][record])
            carried = film_passes.kernel_contributions if spec.kind == "Conv2d" else film_passes.contributions
            share = carried(weight, x)
            if spec.weight in drawn:
                instanced.write_flash(drawn[spec.weight], i, share)
                flashes.setdefault(spec.weight, []).append((i, lit))
            if spec.weight not in cubes:
                continue
            frame = int(plan.record_frames[record])
            normal = film_plan.relief(np.asarray(shown[spec.weight][record]), full[spec.weight])
            for cube in cubes[spec.weight]:
                index = tuple(cube["nnviz_index"])
                _key_flash_depth(_depth_curve(cube, frame), lit, float(normal[index]),
                                 float(film_plan.flash_depths(normal[index], share[index])))
                cube.update_tag()
    for key, passes in flashes.items():
        _key_flash(drawn[key], passes)


def _key_flash_depth(curve: bpy.types.FCurve, lit: int, normal: float, peak: float) -> None:
    """A cube's depth: ``normal`` until ``lit``, ``peak`` there, back to ``normal`` ``FLASH_FRAMES`` later."""
    points = curve.keyframe_points
    points.insert(lit - 1, normal, options={"FAST"}).interpolation = "CONSTANT"
    points.insert(lit, peak, options={"FAST"}).interpolation = "LINEAR"
    points.insert(lit + film_plan.FLASH_FRAMES, normal, options={"FAST"}).interpolation = "LINEAR"


def _depth_curve(cube: bpy.types.Object, frame: int) -> bpy.types.FCurve:
    """``cube``'s depth curve; a run of one record keys no depth (:func:`.depths.key_depths`), so its
    flash starts one at ``frame`` from the depth the cube has."""
    curve = next((c for c in keyframes.fcurves_of(cube) if (c.data_path, c.array_index) == DEPTH_CHANNEL), None)
    if curve is None:
        curve = key_channel(cube, DEPTH_CHANNEL, np.array([frame]), np.array([cube.scale[1]]))
    return curve


def _key_flash(obj: bpy.types.Object, passes: Sequence[tuple[int, int]]) -> None:
    """An instanced weight tensor's flashes, as the objects' depth keys: Flash Pass picks the pass's
    shares (CONSTANT), Flash is 0 until the lit frame, 1 there, back to 0 ``FLASH_FRAMES`` later."""
    numbers, lit = (np.array(column) for column in zip(*passes, strict=True))
    key_input(obj, "Flash Pass", lit - 1, numbers.astype(np.float64), "CONSTANT")
    frames = np.ravel(np.column_stack([lit - 1, lit, lit + film_plan.FLASH_FRAMES]))
    curve = key_input(obj, "Flash", frames, np.tile([0.0, 1.0, 0.0], len(lit)), "LINEAR")
    for point in list(curve.keyframe_points)[0::3]:  # no rise before the lit frame (at subframes)
        point.interpolation = "CONSTANT"
