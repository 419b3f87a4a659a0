"""A History as a Blender scene: one keyframed cube per weight and bias, and the learning views.

``build`` replaces any previous nnviz content with cubes, labels, a legend, camera and overlay text,
plus, when the History has the probe series (:mod:`nnviz_addon.training.probes`), neurons between the grids,
a view of the task and the growing loss curve, and keys every recorded step; ``show_values``
recolours the cubes live while training; ``clear`` removes everything nnviz made. A cube's colour
shows its value; with ``SceneOptions.magnitude`` its size also shows its gradient or update
(:mod:`nnviz_addon.picture.magnitude`), keyed in the same action as the colour, with a size legend under
the colour legend.

``build`` is plan, then write: :func:`..picture.frame.plan_frame` decides everything in numpy, and
:func:`write` (and the writer modules it calls, each given its part of the plan) only creates and
keys it.
"""

from __future__ import annotations

from collections.abc import Mapping

import bpy
import numpy as np

from ..history import History
from ..picture import colormap, magnitude
from ..picture import cubes as cube_plan
from ..picture.frame import FramePlan, TensorDraw, plan_frame
from . import (
    bloom,
    feature_maps,
    film,
    instanced,
    keyframes,
    loss_curve,
    model_parts,
    neurons,
    objects,
    overlay,
    stage,
    task_views,
)
from .attention import add_attention, add_token_rows
from .options import SceneOptions

__all__ = ["SceneOptions", "build", "clear", "color_scale_for", "show_values", "write"]

SCALE_PROPERTY = "nnviz_scale"
FILL_PROPERTY = "nnviz_cube_fill"  # the plan's fill (view_layout.cube_fill): the cubes' edge ÷ CUBE_SIZE
MAGNITUDE_PROPERTY = "nnviz_magnitude"  # the SceneOptions.magnitude the scene was built with
MAGNITUDE_SCALE_PROPERTY = "nnviz_magnitude_scale"  # History key → magnitude drawn full size
DEFAULT_OPTIONS = SceneOptions()


def color_scale_for(history: History, options: SceneOptions = DEFAULT_OPTIONS) -> dict[str, float]:
    """History key → the |value| (or with ``color_values = "change"`` the |w − w₀|) that maps to the
    end of the colour map, over all records."""
    return cube_plan.color_scales(cube_plan.shown_history(history, options.color_values), options.color_scale)


def clear() -> None:
    """Remove every object, collection, mesh, material, action and world nnviz made, and the film's
    bloom, and render the scene's other objects again."""
    objects.remove_all()
    bloom.remove(bpy.context.scene)
    stage.show_others(bpy.context.scene)


def build(history: History, options: SceneOptions = DEFAULT_OPTIONS) -> None:
    """Draw ``history`` in the current scene and key all its records (replacing any earlier build):
    its :class:`..picture.frame.FramePlan` for the scene's frame, then :func:`write`."""
    render = bpy.context.scene.render
    write(plan_frame(history, options, stage.frame_aspect(render), stage.render_size(render)))


def write(plan: FramePlan) -> None:
    """Create and key what ``plan`` says in the current scene, replacing any earlier build."""
    scene = bpy.context.scene
    clear()
    layout, options, frames = plan.layout, plan.options, plan.record_frames
    actions = [objects.cube_actions(block) if plan.keyed else [] for block in layout.blocks]  # before any cube

    root = objects.tagged(bpy.data.collections.new(objects.ROOT_COLLECTION))
    scene.collection.children.link(root)
    root[SCALE_PROPERTY] = plan.scales.color
    root[MAGNITUDE_PROPERTY] = options.magnitude
    root[MAGNITUDE_SCALE_PROPERTY] = plan.scales.size
    root[FILL_PROPERTY] = plan.fill
    mesh = objects.shared_cube_mesh()

    layer_collections: dict[str, bpy.types.Collection] = {}
    for name, label in layout.layer_labels.items():
        layer_collections[name] = collection = objects.new_collection(f"nnviz · layer {name}", root)
        objects.add_label(label, f"{label.text} · label", collection)
    if layout.part_labels or layout.skips:
        model_parts.add_parts(root, layout)
    for drawn, block_actions in zip(plan.tensors(), actions, strict=True):
        collection = layer_collections[drawn.cubes.block.layer]
        if plan.writer == "instanced":
            obj = instanced.add_tensor(drawn.cubes, collection, int(frames[0]), options.frames_per_record)
            obj.scale = drawn.object_scale
        else:
            _add_objects(drawn, mesh, collection, frames if plan.keyed else None, block_actions)

    feature_maps.add_feature_maps(root, layout.feature_labels, plan.feature_cubes, frames, plan.writer,
                                  options.frames_per_record)

    legend = objects.new_collection("nnviz · legend", root)
    objects.add_legend(plan.color_legend, mesh, legend)
    if plan.size_legend is not None:
        objects.add_size_legend(plan.size_legend, mesh, legend)

    if plan.neurons is not None:
        neurons.add_neurons(root, plan.neurons, plan.writer, options.frames_per_record)
    if plan.loss is not None:
        loss_curve.add_loss_curve(root, plan.loss)
    if plan.task is not None:
        task_views.add_task_view(root, plan.task)
    if plan.attention is not None:
        add_attention(root, plan.attention)
    if plan.token_labels:
        add_token_rows(root, plan.token_labels)
    stage.set_up(scene, root, plan.bounds, attribute_colors=plan.writer == "instanced")
    scene.frame_start = options.frame_start  # the first record's frame, or the intro's
    scene.frame_end = plan.timeline.frame_end
    scene.frame_current = int(frames[0])
    overlay.add_overlay(root, plan.overlay, frames)
    if plan.writer == "instanced":
        instanced.carry_object_colors([obj for obj in root.all_objects if obj.type == "MESH"
                                       and instanced.TENSOR_PROPERTY not in obj and not obj.hide_render])
        objects.show_colors_as_materials(obj for obj in root.all_objects if obj.type in ("CURVE", "FONT"))
    if options.style == "film":
        film.dress(scene, root, film.Film(plan.shown, options, layout, plan.timeline, plan.film_scales, plan.views,
                                          plan.overlay_box))
    if options.motion == "smooth":
        keyframes.smooth(obj for obj in root.all_objects if obj != scene.camera)
        instanced.ease(root)
    stage.hide_others(scene, root)  # only nnviz's picture is rendered


def _add_objects(drawn: TensorDraw, mesh: bpy.types.Mesh, collection: bpy.types.Collection,
                 frames: np.ndarray | None, actions: list[bpy.types.Action]) -> None:
    """One object per cube of ``drawn``, keyed at ``frames`` (None: a still, not keyed)."""
    tensor = drawn.cubes
    made = objects.add_cubes(tensor.block, mesh, collection, tensor.values[0], tensor.rgba[0], drawn.first_sizes)
    if frames is not None:
        objects.key_cubes(made, actions, frames, tensor.values, tensor.rgba, drawn.sizes)


def show_values(values: Mapping[str, np.ndarray], scale: float | Mapping[str, float] | None = None,
                magnitudes: Mapping[str, np.ndarray] | None = None,
                size_scale: Mapping[str, float] | None = None) -> None:
    """Colour the built cubes by ``values`` (History key → current tensor) without keyframes.

    ``scale`` is one symmetric scale for all, one per key, or None for the scales of the last build.
    ``magnitudes`` (History key → current |gradient| or |update|, as the build's ``magnitude``
    option) size the cubes, by ``size_scale`` (key → the magnitude drawn full size) where given,
    else by the build's size scale; cubes without one are drawn full size rather than frozen at a
    recorded step. Cubes the user deleted or whose ``nnviz_index`` was edited by hand, and keys no
    cube shows, are skipped. A cube's recorded animation is removed so the live colour shows (the next ``build``
    keys the run again).
    """
    root = objects.root_collection()
    if root is None:
        return
    built_scales = root[SCALE_PROPERTY].to_dict() if SCALE_PROPERTY in root else {}
    built_size_scales = root[MAGNITUDE_SCALE_PROPERTY].to_dict() if MAGNITUDE_SCALE_PROPERTY in root else {}
    fill = float(root.get(FILL_PROPERTY, 1.0))
    magnitudes = magnitudes or {}
    sized = root.get(MAGNITUDE_PROPERTY, "none") != "none"

    def color_scale_of(key: str, tensor: np.ndarray) -> float:
        if isinstance(scale, Mapping) and key in scale:
            return scale[key]
        if scale is not None and not isinstance(scale, Mapping):
            return scale
        return built_scales.get(key, float(np.max(np.abs(tensor), initial=0.0)))

    def live_magnitudes(key: str, tensor: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(|magnitudes| of ``key``, the size drawn full size), or None when none are given."""
        if key not in magnitudes:
            return None
        live = np.abs(np.asarray(magnitudes[key], dtype=np.float64))
        if live.shape != tensor.shape:
            raise ValueError(f"scene.show_values: magnitudes[{key!r}] has shape {live.shape}, but "
                             f"values[{key!r}] has shape {tensor.shape}")
        return live, ((size_scale or {}).get(key) or built_size_scales.get(key)
                      or magnitude.run_scale({key: live[None]})[key])

    for key, obj in instanced.tensor_objects(root).items():
        if key in values:
            tensor = np.asarray(values[key], dtype=np.float64)
            sizes = live_magnitudes(key, tensor)
            instanced.set_live(obj, tensor, color_scale_of(key, tensor), *(sizes or (None, None)))
    by_key: dict[str, list[bpy.types.Object]] = {}
    for obj in root.all_objects:
        key = obj.get("nnviz_param")
        if key in values:
            by_key.setdefault(key, []).append(obj)
    for key, cubes in by_key.items():
        tensor = np.asarray(values[key], dtype=np.float64)
        found = [(cube, objects.cube_index(cube)) for cube in cubes]
        # an index edited by hand into something else than ndim integers addresses nothing
        found = [(cube, at) for cube, at in found if at is not None and len(at) == tensor.ndim]
        if not found:
            continue
        cubes = [cube for cube, _ in found]
        indices = np.array([at for _, at in found], dtype=np.int64).reshape(len(found), -1)
        if np.any(indices >= tensor.shape) or np.any(indices < 0):
            raise ValueError(f"scene.show_values: {key!r} has shape {tensor.shape}, but the built cubes "
                             f"show a tensor of shape {tuple(indices.max(axis=0) + 1)}")
        index = tuple(indices.T)
        current = tensor[index]
        rgba = colormap.colors(current, color_scale_of(key, tensor))
        keyframes.remove_animation(cube for cube in cubes if cube.animation_data is not None)
        for cube, value, color in zip(cubes, current.tolist(), rgba, strict=True):
            cube.color = color
            cube["nnviz_value"] = value
        sizes = live_magnitudes(key, tensor)
        if sizes is not None:
            live, key_size_scale = sizes
            objects.set_sizes(cubes, (magnitude.sizes(live[index], key_size_scale) * fill).tolist())
        elif sized:
            objects.set_sizes(cubes, [fill] * len(cubes))
