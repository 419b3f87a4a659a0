"""The film's forward passes keyed: every neuron and attention cell dark at a pass's start, each
stage (:func:`.film_passes.pass_stages`) lit at its turn with the pass's record's colours, the
weights it flashes growing by their share of the signal, and each residual's arc lighting where it
is added back.
Every value keyed here comes from the History (the neurons' and the depths' plans), none is read
back from a curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bpy
import numpy as np

from ...history import History
from ...picture import attention as attention_plan
from ...picture import film as film_plan
from ...picture import film_passes
from ...picture import neurons as neuron_plan
from ...picture.film_passes import Stage, Timeline
from .. import instanced, keyframes, model_parts
from .depths import DEPTH_CHANNEL, cubes_by_key
from .pauses import key_channel, key_input

DARK = instanced.DARK  # linear; an unlit neuron, just off the background (the instanced tree's too)
SKIP_DIM = tuple(0.15 * c for c in model_parts.SKIP_COLOR[:3])  # a skip arc while the signal has not reached it
SKIP_LIT = (1.0, 0.82, 0.35)  # linear; warm, apart from its resting blue: the residual being added


def key_forward_passes(root: bpy.types.Collection, history: History, plan: Timeline,
                       stages: Sequence[Stage]) -> None:
    """Every neuron and attention cell dark at each pass's start, each lit at its stage's turn
    (:attr:`.film_passes.Timeline.lit`) with that pass's record's colour, holding until the
    records take over; each skip arc dim from the start, lit where its residual is added, back
    to its colour when the pass ends."""
    lit_at = {stage.column: plan.lit[:, k] for k, stage in enumerate(stages) if stage.column}
    drawn = instanced.tensor_objects(root)
    for column, key in neuron_plan.column_keys(history).items():
        if key in drawn and column in lit_at:  # the instanced writer's column
            _key_dark(drawn[key], plan.starts, lit_at[column])
    colors = film_passes.column_colors(history)
    for sphere in root.all_objects:
        column = sphere.get("nnviz_neuron")  # the objects writer's spheres
        if column in lit_at:
            shown = colors[column][np.minimum(plan.passes, len(colors[column]) - 1), sphere["nnviz_index"]]
            _key_colors(sphere, plan.starts, lit_at[column], DARK, shown)
    unlit = attention_plan.cell_colors(np.zeros(1))[0, :3]
    for k, stage in enumerate(stages):
        if stage.attention is not None:
            cells = film_passes.attention_cell_colors(history, stage.attention)
            for name, cell_colors in cells.items():
                if name in bpy.data.objects:
                    _key_colors(bpy.data.objects[name], plan.starts, plan.lit[:, k], unlit,
                                cell_colors[np.minimum(plan.passes, len(cell_colors) - 1)])
    _key_skip_arcs(history, plan, stages)


def _key_colors(obj: bpy.types.Object, starts: np.ndarray, lit_at: np.ndarray, dark: Sequence[float],
                shown: np.ndarray) -> None:
    """``obj``'s colour ``dark`` from each pass's start, ``shown[i]`` (pass i's record's) from its
    lit frame, CONSTANT keys beside the records' (a new action where it has none: a static colour)."""
    frames = np.ravel(np.column_stack([starts, lit_at]))
    values = np.stack([np.broadcast_to(dark, shown.shape), shown], axis=1).reshape(-1, 3).T
    channels = [("color", c) for c in range(3)]
    curves = {(c.data_path, c.array_index): c for c in keyframes.fcurves_of(obj)}
    if not curves:
        action = keyframes.new_actions([f"nnviz · {obj.name} · forward pass"])[0]
        keyframes.write_curves(obj, action, channels, frames, values, interpolation="CONSTANT")
        return
    for channel, channel_values in zip(channels, values, strict=True):
        points = curves[channel].keyframe_points
        for frame, value in zip(frames.tolist(), channel_values.tolist(), strict=True):
            points.insert(frame, value, options={"FAST"}).interpolation = "CONSTANT"
    obj.update_tag()


def _key_skip_arcs(history: History, plan: Timeline, stages: Sequence[Stage]) -> None:
    """Each residual's arc dim from a pass's start, lit at the turn it is added back in, its own
    colour again when the pass ends. The arcs are the graph's skips in order when every skip has
    one (:func:`..model_parts.add_parts`); otherwise which arc is which is not known, none light."""
    skips = [] if history.graph is None else history.graph.skips
    arcs = [bpy.data.objects.get(model_parts.skip_name(i)) for i in range(len(skips))]
    if not arcs or None in arcs or model_parts.skip_name(len(skips)) in bpy.data.objects:
        return
    ends = plan.starts + plan.pass_length
    for k, stage in enumerate(stages):
        for i in stage.skips:
            frames = np.ravel(np.column_stack([plan.starts, plan.lit[:, k], ends]))
            values = np.tile([SKIP_DIM, SKIP_LIT, model_parts.SKIP_COLOR[:3]], (len(plan.starts), 1)).T
            action = keyframes.new_actions([f"nnviz · {arcs[i].name} · forward pass"])[0]
            keyframes.write_curves(arcs[i], action, [("color", c) for c in range(3)], frames, values,
                                   interpolation="CONSTANT")


def _key_dark(obj: bpy.types.Object, starts: np.ndarray, lit_at: np.ndarray) -> None:
    """An instanced neuron column's tree input Dark keyed CONSTANT: 1 (every neuron DARK) from each
    pass's start, 0 (the record's colours, paused by :func:`.pauses.hold_during_passes`) from its lit frame."""
    # lit before the first pass too (a CONSTANT curve holds its first key's value before it)
    frames = np.concatenate([[starts[0] - 1], np.ravel(np.column_stack([starts, lit_at]))])
    values = np.concatenate([[0.0], np.tile([1.0, 0.0], len(starts))])
    key_input(obj, "Dark", frames, values, "CONSTANT")


def flash_weights(root: bpy.types.Collection, history: History, plan: Timeline, stages: Sequence[Stage],
                  depths: tuple[Mapping[str, np.ndarray], Mapping[str, float]]) -> None:
    """When a stage's turn comes in a pass, the weight cubes it flashes grow by their share of the
    signal (:func:`.film_passes.flash_shares`) and fade back in ``FLASH_FRAMES``. ``depths``: what
    the blocks' depths show and on what scale (:func:`.film_plan.depth_source`), the depth a flash
    grows from."""
    shown, full = depths
    cubes = cubes_by_key(root)
    drawn = instanced.tensor_objects(root)
    flashes: dict[str, list[tuple[int, int]]] = {}  # instanced weight tensor → (pass, lit frame)
    for i, record in enumerate(plan.passes.tolist()):
        for k, stage in enumerate(stages):
            lit = int(plan.lit[i, k])
            for key, share in film_passes.flash_shares(history, stage, record).items():
                if key in drawn:
                    instanced.write_flash(drawn[key], i, share)
                    flashes.setdefault(key, []).append((i, lit))
                if key not in cubes:
                    continue
                normal = film_plan.relief(np.asarray(shown[key][record]), full[key])
                frame = int(plan.record_frames[record])
                for cube in cubes[key]:
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
